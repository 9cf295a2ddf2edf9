"""Disputes: reading, listing, and what each caller may see and do (filing: ``arbitration.filing``).

Who is who: the dispute's buyer and seller act as the parties, arbitrators as staff. A caller who is
neither a party nor staff (nor the platform) is told the dispute does not exist (404, not 403).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, NamedTuple, Protocol, TypeVar, cast

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import instance_dict, manager_of_class

from arbitration import lifecycle
from arbitration.accounts import (
    ARBITRATOR,
    BUYER,
    PARTY_ROLES,
    SEES_ALL_DISPUTES,
    SENIOR_ARBITRATOR,
    Caller,
)
from arbitration.db import execute_core, not_by_index
from arbitration.errors import NotFound, ValidationFailed
from arbitration.ids import is_generated_id
from arbitration.models import AccountLink, Dispute, DisputeItem, Offer
from arbitration.party_standing import party_standing
from arbitration.rows import as_loaded, loaded
from arbitration.statements import prepared

REMEDIES = lifecycle.REMEDIES
CHANNELS = ("web", "app", "hotline", "email", "social", "chat")
_CONFLICTS = "arbitration.disputes.conflicts"
_LINES_READ = "arbitration.disputes.lines_read"
# The disputes whose rows a transaction read under a lock (``get_dispute(lock=True)``): the
# transaction, and their ids.
_READ_LOCKED = "arbitration.disputes.read_locked"


class DisputeColumns(Protocol):
    """What the read-side helpers below read of a dispute: a :class:`Dispute`, or its columns read
    without the ORM (the body of ``GET /v1/disputes/<id>`` is read in one Core statement)."""

    @property
    def id(self) -> str: ...
    @property
    def buyer_id(self) -> str: ...
    @property
    def seller_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def remedy(self) -> str: ...
    @property
    def amount(self) -> int: ...
    @property
    def pending_offer_id(self) -> str | None: ...
    @property
    def repair_ready_by(self) -> datetime | None: ...
    @property
    def deadline_action(self) -> str | None: ...
    @property
    def buyer_extension_used(self) -> bool: ...
    @property
    def seller_extension_used(self) -> bool: ...
    @property
    def buyer_evidence_done(self) -> bool: ...
    @property
    def seller_evidence_done(self) -> bool: ...
    @property
    def buyer_info_requested(self) -> bool: ...
    @property
    def seller_info_requested(self) -> bool: ...
    @property
    def assigned_arbitrator_id(self) -> str | None: ...
    @property
    def first_arbitrator_id(self) -> str | None: ...
    @property
    def appealed_by(self) -> str | None: ...
    @property
    def ruling_favours(self) -> str | None: ...


_Seen = TypeVar("_Seen", bound=DisputeColumns)


# Who is asking -----------------------------------------------------------------------------------


def actor_of(dispute: DisputeColumns, caller: Caller | None) -> str | None:
    """The lifecycle actor ``caller`` plays on this dispute (None: may look, may not act)."""
    if caller is None:
        return lifecycle.SYSTEM
    if caller.id == dispute.buyer_id:
        return lifecycle.BUYER
    if caller.id == dispute.seller_id:
        return lifecycle.SELLER
    if caller.role == ARBITRATOR and caller.via is None:
        return lifecycle.ARBITRATOR
    if caller.role == SENIOR_ARBITRATOR and caller.via is None:
        return lifecycle.SENIOR_ARBITRATOR
    return None


_LINKED = prepared(
    select(
        exists().where(
            AccountLink.staff_id == bindparam("staff_id"),
            AccountLink.related_id.in_([bindparam("buyer_id"), bindparam("seller_id")]),
        )
    )
)


def is_conflicted(session: Session, *, staff_id: str, dispute: DisputeColumns) -> bool:
    """Is the staff member related to either party (DESIGN §4: they may not take the case)?

    Asked once per transaction and pair of parties (an action asks, then the buttons it answers
    with ask again); links are recorded by an admin's own request, never during an action.
    """
    asked = _conflicts_asked(session)
    key = (staff_id, dispute.buyer_id, dispute.seller_id)
    if key not in asked:
        parties = {"staff_id": staff_id, "buyer_id": dispute.buyer_id}
        asked[key] = bool(
            execute_core(session, _LINKED, parties | {"seller_id": dispute.seller_id}).scalar()
        )
    return asked[key]


def _conflicts_asked(session: Session) -> dict[tuple[str, str, str], bool]:
    """What this transaction knows: (staff, buyer, seller) -> related."""
    asked: dict[tuple[str, str, str], bool] = session.info.setdefault(_CONFLICTS, {})
    return asked


def facts_for(
    dispute: DisputeColumns,
    actor: str,
    caller_id: str,
    *,
    conflicted: bool | None = None,
    offer: Any = None,
) -> lifecycle.Facts:
    """The guards' view of the dispute, as seen by ``actor``. ``conflicted`` and the pending
    ``offer`` (an :class:`Offer` or its columns) when already read (the queue reads them for a whole
    page, a dispute's body with the dispute), else asked of the dispute's session; a dispute read
    without the ORM has none, so what its facts need must come with it."""
    buyer_side = actor == lifecycle.BUYER
    session = None
    if isinstance(dispute, Dispute):
        session = object_session(dispute)
        dispute = _as_read(dispute)
    conflicted = actor in lifecycle.STAFF_ACTORS and (
        conflicted
        if conflicted is not None
        else session is not None and is_conflicted(session, staff_id=caller_id, dispute=dispute)
    )
    if offer is None and session is not None and dispute.pending_offer_id:
        offer = session.get(Offer, dispute.pending_offer_id)
    return lifecycle.Facts(
        actor=actor,
        remedy=dispute.remedy,
        amount=dispute.amount,
        has_pending_offer=dispute.pending_offer_id is not None,
        offered_remedy=offer.remedy if offer is not None else None,
        repair_promised=dispute.repair_ready_by is not None,
        extension_used=(
            dispute.buyer_extension_used if buyer_side else dispute.seller_extension_used
        ),
        evidence_done=dispute.buyer_evidence_done if buyer_side else dispute.seller_evidence_done,
        other_party_evidence_done=(
            dispute.seller_evidence_done if buyer_side else dispute.buyer_evidence_done
        ),
        info_requestable=not (dispute.buyer_info_requested and dispute.seller_info_requested),
        assigned_to_actor=dispute.assigned_arbitrator_id == caller_id,
        assigned_to_other=dispute.assigned_arbitrator_id not in (None, caller_id),
        actor_was_first_arbitrator=dispute.first_arbitrator_id == caller_id,
        may_appeal=dispute.appealed_by is None and dispute.ruling_favours != actor,
        conflicted=conflicted,
        buyer_under_review=(
            actor == lifecycle.SYSTEM
            and session is not None
            and party_standing(session).buyer_under_review(session, buyer_id=dispute.buyer_id)
        ),
    )


# The columns ``facts_for`` reads of a dispute.
_FACT_COLUMNS = frozenset(
    {
        "id",
        "buyer_id",
        "seller_id",
        "remedy",
        "amount",
        "pending_offer_id",
        "repair_ready_by",
        "buyer_extension_used",
        "seller_extension_used",
        "buyer_evidence_done",
        "seller_evidence_done",
        "buyer_info_requested",
        "seller_info_requested",
        "assigned_arbitrator_id",
        "first_arbitrator_id",
        "appealed_by",
        "ruling_favours",
    }
)


def _as_read(dispute: Dispute) -> DisputeColumns:
    """The object's columns as plain attributes, when it holds every one ``facts_for`` reads (as
    loaded): the same values, without an ORM attribute's call for each of a score of reads."""
    held = instance_dict(dispute)
    if held.keys() >= _FACT_COLUMNS:
        return cast(DisputeColumns, SimpleNamespace(**held))
    return dispute


def allowed_actions(
    dispute: DisputeColumns,
    caller: Caller | None,
    *,
    conflicted: bool | None = None,
    offer: Any = None,
) -> list[str]:
    """The actions the table allows ``caller`` now (the buttons a client draws)."""
    actor = actor_of(dispute, caller)
    if actor is None:
        return []
    caller_id = caller.id if caller else lifecycle.SYSTEM
    return lifecycle.allowed_actions(
        dispute.status, facts_for(dispute, actor, caller_id, conflicted=conflicted, offer=offer)
    )


def awaiting(dispute: DisputeColumns) -> str | None:
    """Whose move it is; while gathering evidence, the party that has not said it is done."""
    if dispute.status == lifecycle.GATHERING_EVIDENCE:
        if dispute.buyer_evidence_done:
            return lifecycle.SELLER
        if dispute.seller_evidence_done:
            return lifecycle.BUYER
    return lifecycle.AWAITING[dispute.status]


def deadline_party(dispute: DisputeColumns) -> str | None:
    """Whom the running deadline is against (``both`` while gathering evidence)."""
    timer = lifecycle.TIMERS.get(dispute.status)
    return timer.party if timer and dispute.deadline_action else None


def visible(dispute: _Seen | None, caller: Caller, dispute_id: str) -> _Seen:
    """The dispute if ``caller`` may see it; a caller who may not is told it does not exist."""
    if dispute is None or not (
        (caller.via is None and caller.role in SEES_ALL_DISPUTES)
        or caller.id in (dispute.buyer_id, dispute.seller_id)
    ):
        raise NotFound(f"no dispute {dispute_id}")
    return dispute


def get_dispute(
    session: Session, *, caller: Caller, dispute_id: str, lock: bool = False
) -> Dispute:
    """The dispute, if ``caller`` may see it (404 if not).

    ``lock``, for an action about to change it: a row the session does not hold yet is read with
    ``FOR UPDATE OF disputes``, so on PostgreSQL it cannot change until the transaction ends and
    the read is the row's latest (``read_locked``); SQLite has no row locks and needs none (a write
    holds the whole file from its first statement)."""
    staff = caller.via is None and caller.role in _STAFF_ROLES
    return visible(
        _load_dispute(session, dispute_id, staff_id=caller.id if staff else None, lock=lock),
        caller,
        dispute_id,
    )


def read_locked(session: Session, dispute_id: str) -> bool:
    """Whether this transaction read the dispute's row under a lock (``get_dispute(lock=True)``):
    what it read is current until it commits. A lock taken in an earlier transaction of the same
    session ended with it."""
    transaction, locked = session.info.get(_READ_LOCKED, (None, ()))
    return transaction is session.get_transaction() and dispute_id in locked


# Built once: a dispute's every column by its key, and its lines (one row each, in the order of
# ``Dispute.items``; one row without a line if it has none). A write's body shows the lines.
_DISPUTES_TABLE, _ITEMS_TABLE = Dispute.__table__, DisputeItem.__table__
_DISPUTE_WITH_ITEMS = prepared(
    select(
        *_DISPUTES_TABLE.columns,
        _ITEMS_TABLE.c.listing_id,
        _ITEMS_TABLE.c.quantity,
        _ITEMS_TABLE.c.value,
    )
    .select_from(
        _DISPUTES_TABLE.outerjoin(_ITEMS_TABLE, _ITEMS_TABLE.c.dispute_id == _DISPUTES_TABLE.c.id)
    )
    .where(_DISPUTES_TABLE.c.id == bindparam("dispute_id"))
    .order_by(_ITEMS_TABLE.c.listing_id)
)
_ITEMS_AT = len(_DISPUTES_TABLE.columns)
# The same for a staff member, who will be asked whether they are related to a party.
_DISPUTE_WITH_ITEMS_FOR_STAFF = prepared(
    _DISPUTE_WITH_ITEMS.add_columns(
        exists()
        .where(
            AccountLink.staff_id == bindparam("staff_id"),
            AccountLink.related_id.in_([_DISPUTES_TABLE.c.buyer_id, _DISPUTES_TABLE.c.seller_id]),
        )
        .label("conflicted")
    )
)
_CONFLICTED_AT = _ITEMS_AT + 3
_DISPUTE_COLUMNS = tuple(column.key for column in _DISPUTES_TABLE.columns)
_DISPUTE_CLASS = manager_of_class(Dispute)
# The same two, locking the dispute's row (not its lines') as they read it.
_LOCKED = {
    statement: prepared(statement.with_for_update(of=_DISPUTES_TABLE))
    for statement in (_DISPUTE_WITH_ITEMS, _DISPUTE_WITH_ITEMS_FOR_STAFF)
}
_STAFF_ROLES = frozenset({ARBITRATOR, SENIOR_ARBITRATOR})  # the roles that act as staff


def _load_dispute(
    session: Session, dispute_id: str, *, staff_id: str | None, lock: bool = False
) -> Dispute | None:
    """The session's dispute, as ``Session.get`` gives it, for a third of the calls.

    One the session already holds is the ORM's (refreshed if expired); any other is read as plain
    rows whose columns become the object's, put into the session as if loaded (``items`` and
    ``order`` load lazily, as after ``Session.get``). The lines read with it are kept for
    :func:`lines_read`: left out of ``items``, they cost the ORM nothing at each flush. For a
    staff member, whether they are related to a party comes in the same statement, for
    :func:`is_conflicted`.
    """
    if loaded(session, Dispute, dispute_id) is not None:
        return session.get(Dispute, dispute_id)
    if staff_id is None:
        statement, parameters = _DISPUTE_WITH_ITEMS, {"dispute_id": dispute_id}
    else:
        statement = _DISPUTE_WITH_ITEMS_FOR_STAFF
        parameters = {"dispute_id": dispute_id, "staff_id": staff_id}
    rows = execute_core(session, _LOCKED[statement] if lock else statement, parameters).all()
    if not rows:
        return None
    if lock:
        transaction = session.get_transaction()
        held, locked = session.info.get(_READ_LOCKED, (None, set()))
        if held is not transaction:
            locked = set()
            session.info[_READ_LOCKED] = (transaction, locked)
        locked.add(dispute_id)
    dispute: Dispute = _DISPUTE_CLASS.new_instance()
    instance_dict(dispute).update(zip(_DISPUTE_COLUMNS, rows[0][:_ITEMS_AT], strict=True))
    as_loaded(session, dispute)
    lines: dict[str, list[LineRead]] = session.info.setdefault(_LINES_READ, {})
    lines[dispute_id] = [
        LineRead(listing_id, quantity, value)
        for listing_id, quantity, value in (row[_ITEMS_AT:_CONFLICTED_AT] for row in rows)
        if listing_id is not None
    ]
    if staff_id is not None:
        key = (staff_id, dispute.buyer_id, dispute.seller_id)
        _conflicts_asked(session)[key] = bool(rows[0][_CONFLICTED_AT])
    return dispute


class LineRead(NamedTuple):
    """A dispute's line (a ``DisputeItem``'s columns), as read with the dispute or chosen to file."""

    listing_id: str
    quantity: int
    value: int


def lines_read(session: Session, dispute: Dispute) -> list[LineRead] | None:
    """The lines of ``dispute`` as read with it by :func:`get_dispute` in this unit of work, in
    the order of ``Dispute.items`` (None if not read so). A dispute's lines never change once
    filed, so what was read stays true for the whole transaction."""
    found: dict[str, list[LineRead]] = session.info.get(_LINES_READ, {})
    return found.get(dispute.id)


# Listing -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DisputeFilters:
    status: str | None = None
    seller_id: str | None = None
    buyer_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Page:
    disputes: list[Dispute]
    next_cursor: str | None


def _decode_cursor(cursor: str) -> str:
    """A cursor is the last id of the previous page, base64-encoded; anything else is refused."""
    try:
        last_id = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        last_id = ""
    if not is_generated_id(last_id, "dsp") or _encode_cursor(last_id) != cursor:
        raise ValidationFailed("bad cursor", details={"cursor": ["not a cursor we issued"]})
    return last_id


def _encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode()


# The columns a list walks its index by when no buyer is named.
_BY_SELLER_STATE = frozenset({"seller_id", "status"})


def list_disputes(
    session: Session,
    *,
    caller: Caller,
    filters: DisputeFilters,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Newest first; parties see their own disputes, staff and the platform see all.

    A page is a walk down one index that stops at its end, however long the history: by buyer
    (a buyer's disputes are few), else by seller and state, by seller, or by state (the
    ``ix_disputes_*`` of ``Dispute``); every other condition filters what that walk finds
    (``not_by_index``). A party lists by its own column (a buyer is never a seller: orders
    refuse it), so a seller's inbox never reads its buyers' side.
    """
    query = select(Dispute).order_by(Dispute.id.desc()).limit(limit + 1)
    conditions = [
        (field, value)
        for field in ("status", "seller_id", "buyer_id", "reason")
        if (value := getattr(filters, field)) is not None
    ]
    if caller.via is not None or caller.role not in SEES_ALL_DISPUTES:
        assert caller.role in PARTY_ROLES  # On-Behalf-Of names a buyer or a seller
        conditions.append(("buyer_id" if caller.role == BUYER else "seller_id", caller.id))
    driving = (
        {"buyer_id"} if any(field == "buyer_id" for field, _ in conditions) else _BY_SELLER_STATE
    )
    for field, value in conditions:
        column = getattr(Dispute, field)
        query = query.where((column if field in driving else not_by_index(column)) == value)
    if cursor:
        query = query.where(Dispute.id < _decode_cursor(cursor))
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode_cursor(rows[-1].id) if more else None
    return Page(rows, next_cursor)
