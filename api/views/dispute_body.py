"""A dispute's body, as every endpoint that answers with a dispute shows it (``DisputeOut``): read
in one statement for ``GET /v1/disputes/<id>``, built from what the unit of work holds after a
write, or from a queue page's rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import (
    Integer,
    String,
    bindparam,
    cast,
    exists,
    literal,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from api.context import Later
from api.schemas import arbitration as arbitration_schemas
from api.schemas.common import plain_dumper
from api.schemas.disputes import DisputeOut
from arbitration import compensations, disputes, lifecycle, queue
from arbitration.accounts import Caller
from arbitration.db import UTCDateTime, execute_core
from arbitration.models import (
    AccountLink,
    Compensation,
    Decision,
    Dispute,
    DisputeItem,
    Offer,
    Refund,
)
from arbitration.party_actions import offer_terms
from arbitration.rows import loaded
from arbitration.statements import prepared

# Built once: a schema is stateless once built, and building one costs more than a dump.
DISPUTE_OUT = DisputeOut()
# The body is built as plain values and dumped without marshmallow (the hot path of every read and
# write): the same fields, the same formats (tests/api/test_dispute_body.py holds it to DisputeOut).
_dump_dispute = plain_dumper(DISPUTE_OUT)
# The body's fields that are the dispute's own columns.
_DISPUTE_COLUMNS = tuple(name for name in DISPUTE_OUT.fields if name in Dispute.__table__.c)
_ALL_COLUMNS = frozenset(Dispute.__table__.c.keys())
_ALL_RULING_COLUMNS = frozenset(Decision.__table__.c.keys())
_ALL_OFFER_COLUMNS = frozenset(Offer.__table__.c.keys())
DECISION_FIELDS = tuple(arbitration_schemas.DecisionOut().fields)


def _nothing(type_: Any) -> Any:
    return cast(null(), type_)


# The lists a body shows, in one statement (their columns line up; ``row`` tells them apart): the
# order lines (``id`` is the listing, ``amount`` the value), the refunds and the compensations,
# each oldest first. A list the dispute cannot have is not asked for (its id parameter is NULL),
# except by a read (``_DISPUTE_WITH_PARTS``), which asks before it knows: an index probe each.
_ITEMS, _REFUNDS, _COMPENSATIONS = (
    DisputeItem.__table__.c,
    Refund.__table__.c,
    Compensation.__table__.c,
)
_MONEY_COLUMNS = ("id", "amount", "currency", "instructed_at", "confirmed_at", "overdue_since")
_LISTS = union_all(
    select(
        literal("item", String).label("row"),
        _nothing(String).label("kind"),
        _ITEMS.listing_id.label("id"),
        _ITEMS.value.label("amount"),
        _nothing(String).label("currency"),
        _nothing(UTCDateTime()).label("instructed_at"),
        _nothing(UTCDateTime()).label("confirmed_at"),
        _nothing(UTCDateTime()).label("overdue_since"),
        _nothing(String).label("funded_by"),
        _ITEMS.quantity,
    ).where(_ITEMS.dispute_id == bindparam("items_of")),
    select(
        literal("refund", String).label("row"),
        _nothing(String).label("kind"),
        *(_REFUNDS[name] for name in _MONEY_COLUMNS),
        _REFUNDS.funded_by,
        _nothing(Integer).label("quantity"),
    ).where(_REFUNDS.dispute_id == bindparam("refunds_of")),
    select(
        literal("compensation", String).label("row"),
        _COMPENSATIONS.kind,
        *(_COMPENSATIONS[name] for name in _MONEY_COLUMNS),
        _COMPENSATIONS.funded_by,
        _nothing(Integer).label("quantity"),
    ).where(_COMPENSATIONS.dispute_id == bindparam("compensations_of")),
).subquery("lists")
_LIST_ORDER = (_LISTS.c.row, _LISTS.c.instructed_at, _LISTS.c.id)
_LISTS_ORDERED = prepared(select(_LISTS).order_by(*_LIST_ORDER))
_LIST_NAMES = tuple(_LISTS.c.keys())


# A dispute's refunds and its compensations (their columns by name), each oldest first.
_Money = tuple[list[dict[str, Any]], list[dict[str, Any]]]
# The columns of a held refund or compensation, all loaded to be taken as the row.
_HELD_COLUMNS: dict[type, frozenset[str]] = {
    model: frozenset(model.__table__.c.keys()) for model in (Refund, Compensation)
}


# Lines by listing id as Python compares them, wherever they came from: a filing holds its lines in
# the order's order, and PostgreSQL's collation (its locale) may order ids otherwise than SQLite.
_BY_LISTING = itemgetter("listing_id")


@dataclass
class _Lists:
    items: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[Any] = field(default_factory=list)
    compensations: list[Any] = field(default_factory=list)

    def add(self, row: Sequence[Any]) -> None:
        """One row of ``_LISTS`` (its columns in order)."""
        kind = row[0]
        if kind == "item":
            self.items.append({"listing_id": row[2], "quantity": row[9], "value": row[3]})
        elif kind == "refund":
            self.refunds.append(dict(zip(_LIST_NAMES, row, strict=True)))
        else:
            self.compensations.append(dict(zip(_LIST_NAMES, row, strict=True)))


class _Columns:
    """A row's columns by name, read without the ORM: what the body reads of a model (a dispute,
    its ruling, its pending offer), for the price of a dict."""

    def __init__(self, names: Iterable[str], values: Iterable[Any]) -> None:
        self.__dict__.update(zip(names, values, strict=True))

    def __getattr__(self, name: str) -> Any:  # every column is set: only for the type checker
        raise AttributeError(name)


class _RulingColumns(_Columns):
    compensation = vars(Decision)["compensation"]  # the model's own terms, read from the columns


# A dispute's body in one statement, for ``GET /v1/disputes/<id>``: the dispute, the ruling in
# force, the pending offer, whether the caller (staff) is related to a party, and the rows of
# ``_LISTS`` (one row per line, refund and compensation; the dispute's columns repeat on each).
# Read on the connection, as rows: no ORM object is built (the ORM's cost per statement and per
# object was most of a read's). Built once, run by id.
_DISPUTES, _RULINGS, _OFFERS = Dispute.__table__, Decision.__table__, Offer.__table__
_LINKS = AccountLink.__table__
_CONFLICTED = (
    exists()
    .where(
        _LINKS.c.staff_id == bindparam("staff_id"),
        _LINKS.c.related_id.in_([_DISPUTES.c.buyer_id, _DISPUTES.c.seller_id]),
    )
    .label("conflicted")
)
_BODY_PARTS = (_DISPUTES.c, _RULINGS.c, _OFFERS.c)
_DISPUTE_WITH_PARTS = prepared(
    select(*(column for columns in _BODY_PARTS for column in columns), _CONFLICTED, _LISTS)
    .select_from(
        _DISPUTES.outerjoin(_RULINGS, _RULINGS.c.id == _DISPUTES.c.decision_id)
        .outerjoin(_OFFERS, _OFFERS.c.id == _DISPUTES.c.pending_offer_id)
        .outerjoin(_LISTS, true())
    )
    .where(_DISPUTES.c.id == bindparam("dispute_id"))
    .order_by(*_LIST_ORDER)
)
_DISPUTE_NAMES, _RULING_NAMES, _OFFER_NAMES = (tuple(columns.keys()) for columns in _BODY_PARTS)
_RULING_AT = len(_DISPUTE_NAMES)
_OFFER_AT = _RULING_AT + len(_RULING_NAMES)
_CONFLICTED_AT = _OFFER_AT + len(_OFFER_NAMES)
_LISTS_AT = _CONFLICTED_AT + 1


def _lists(session: Session, dispute: Dispute, money: _Money | None = None) -> _Lists:
    """The order lines, refunds and compensations of the body, in one statement (none if the lines
    are loaded or were read with the dispute, and the dispute can have neither money list, or
    ``money`` gives both)."""
    found = _Lists()
    items_loaded = "items" in dispute.__dict__
    lines = dispute.items if items_loaded else disputes.lines_read(session, dispute)
    if lines is not None:
        items_loaded = True
        found.items = sorted(
            (
                {"listing_id": line.listing_id, "quantity": line.quantity, "value": line.value}
                for line in lines
            ),
            key=_BY_LISTING,
        )
    if money is not None:
        found.refunds, found.compensations = money
        refunds = compensated = False
    else:
        refunds = dispute.refund_amount is not None
        compensated = compensations.may_have_compensations(dispute)
    if items_loaded and not (refunds or compensated):
        return found
    parameters = {
        "items_of": None if items_loaded else dispute.id,
        "refunds_of": dispute.id if refunds else None,
        "compensations_of": dispute.id if compensated else None,
    }
    for row in execute_core(session, _LISTS_ORDERED, parameters):
        found.add(row)
    found.items.sort(key=_BY_LISTING)
    return found


def _money_held(session: Session, dispute: Dispute, ruling: Decision | None) -> _Money | None:
    """The dispute's refunds and compensations from the rows this unit of work holds (a write's
    own, just inserted), when they are surely all of them; None when they must be read.

    Refunds: each is counted on the dispute's ``refund_amount`` as it is instructed, with a
    positive amount (``refunds.instruct_refund``), so the held ones are all when they add up to it.
    Compensations: only a ruling or an accepted offer (which closes the dispute) orders one
    (``compensations.may_have_compensations``), and a dispute is ruled on once before any appeal:
    while its first ruling (kind ``ruling``) is in force, its one compensation is that ruling's.
    A row is taken as its columns (the dump reads them by key), if all are loaded.
    """
    refund_amount = dispute.refund_amount
    compensated = compensations.may_have_compensations(dispute)
    if refund_amount is None and not compensated:
        return [], []
    dispute_id = dispute.id
    refunds: list[dict[str, Any]] = []
    instructed: list[dict[str, Any]] = []
    for row in session.identity_map.values():
        needed = _HELD_COLUMNS.get(type(row))
        if needed is not None:
            columns = row.__dict__
            if columns.get("dispute_id") == dispute_id and needed <= columns.keys():
                (refunds if type(row) is Refund else instructed).append(columns)
    if sum(refund["amount"] for refund in refunds) != (refund_amount or 0):
        return None
    if compensated:
        if ruling is None or ruling.kind != "ruling":
            return None
        instructed = [row for row in instructed if row["ordered_by"] == ruling.id]
        if ruling.compensation_kind is not None and not instructed:
            return None  # instructed by an earlier unit of work: read
    refunds.sort(key=itemgetter("instructed_at", "id"))
    return refunds, instructed


def _page_lists(dispute: Dispute, parts: queue.BodyParts) -> _Lists:
    """The body's lists from what the queue read for its whole page (its lines come loaded)."""
    return _Lists(
        items=[
            {"listing_id": item.listing_id, "quantity": item.quantity, "value": item.value}
            for item in dispute.items
        ],
        refunds=list(parts.refunds),
        compensations=list(parts.compensations),
    )


def read_body(session: Session, *, caller: Caller, dispute_id: str) -> dict[str, Any]:
    """The body of a dispute ``caller`` may see (else a 404), read in one statement."""
    rows = execute_core(
        session,
        _DISPUTE_WITH_PARTS,
        {
            "dispute_id": dispute_id,
            "staff_id": caller.id,
            "items_of": dispute_id,
            "refunds_of": dispute_id,
            "compensations_of": dispute_id,
        },
        flush=False,  # a read holds nothing to flush
    ).all()
    first = rows[0] if rows else None
    dispute = disputes.visible(
        None if first is None else _Columns(_DISPUTE_NAMES, first[:_RULING_AT]), caller, dispute_id
    )
    assert first is not None  # visible() refused a dispute that is not there
    ruling, offer = first[_RULING_AT:_OFFER_AT], first[_OFFER_AT:_CONFLICTED_AT]
    lists = _Lists()
    for row in rows:
        if row[_LISTS_AT] is not None:  # a dispute with no list rows has one row, without
            lists.add(row[_LISTS_AT:])
    return _dump_dispute(
        _body_view(
            dispute,
            caller,
            ruling=_RulingColumns(_RULING_NAMES, ruling) if ruling[0] is not None else None,
            offer=_Columns(_OFFER_NAMES, offer) if offer[0] is not None else None,
            lists=lists,
            conflicted=bool(first[_CONFLICTED_AT]),
        )
    )


def dispute_body(
    session: Session, dispute: Dispute, who: Caller, parts: queue.BodyParts | None = None
) -> dict[str, Any]:
    """The dispute as the caller sees it: state, whose move, and the caller's own buttons.

    ``parts``: what a page of bodies read at once (``queue.page_parts``) instead of row by row."""
    return _dump_dispute(dispute_view(session, dispute, who, parts))


def written_body(session: Session, dispute: Dispute, who: Caller) -> Later:
    """The body a write answers with, as a fresh ``GET`` would show the dispute it wrote: the
    refunds and compensations it instructed are taken from the session, not read back, and the
    dispute, its ruling and its pending offer are read as copies of their columns (a dict's price,
    not the ORM's per attribute).

    All the body needs is read here, in the unit of work; the body is left to :func:`perform`,
    which builds it after the commit (outside the writer lock) unless an ``Idempotency-Key``
    stores it with the change.
    """
    ruling = _held(session, Decision, dispute.decision_id)
    lists = _lists(session, dispute, _money_held(session, dispute, ruling))
    seen = _copied(dispute, _ALL_COLUMNS)
    ruling_seen = _copied(ruling, _ALL_RULING_COLUMNS, _RulingColumns)
    offer_seen = _copied(_held(session, Offer, dispute.pending_offer_id), _ALL_OFFER_COLUMNS)
    # Whether a staff caller is related to a party, as ``facts_for`` would ask a Dispute's session
    # (known since the action's authorization); a copy has no session to ask.
    conflicted = disputes.actor_of(seen, who) in lifecycle.STAFF_ACTORS and disputes.is_conflicted(
        session, staff_id=who.id, dispute=seen
    )
    return Later(
        lambda: _dump_dispute(
            _body_view(
                seen, who, ruling=ruling_seen, offer=offer_seen, lists=lists, conflicted=conflicted
            )
        )
    )


def _copied(row: Any, names: frozenset[str], copy: type[_Columns] = _Columns) -> Any:
    """A copy of ``row``'s columns (None for no row); a column not loaded (one a write left unset,
    an expired one) is read as the ORM reads it, here."""
    if row is None:
        return None
    loaded = row.__dict__
    if not loaded.keys() >= names:
        loaded = {name: getattr(row, name) for name in names}
    return copy(loaded.keys(), loaded.values())


def dispute_view(
    session: Session, dispute: Dispute, who: Caller, parts: queue.BodyParts | None = None
) -> dict[str, Any]:
    """The body's values before dumping (``DisputeOut``'s fields, datetimes as datetimes), from
    the dispute the session holds: its ruling and pending offer are found in the session."""
    return _body_view(
        dispute,
        who,
        ruling=_held(session, Decision, dispute.decision_id),
        offer=_held(session, Offer, dispute.pending_offer_id),
        lists=_lists(session, dispute) if parts is None else _page_lists(dispute, parts),
        conflicted=parts.conflicted if parts is not None else None,
    )


_Part = TypeVar("_Part", Decision, Offer)


def _held(session: Session, model: type[_Part], key: str | None) -> _Part | None:
    """The row of ``model`` the dispute refers to (None for none): the session's, else read."""
    if key is None:
        return None
    return loaded(session, model, key) or session.get(model, key)


def _body_view(
    dispute: Dispute | _Columns,
    who: Caller,
    *,
    ruling: Decision | _RulingColumns | None,
    offer: Offer | _Columns | None,
    lists: _Lists,
    conflicted: bool | None,
) -> dict[str, Any]:
    """The body's values from the dispute's columns and its parts, however they were read."""
    loaded = dispute.__dict__  # the columns already loaded; an expired one is read as usual
    view = {
        name: loaded[name] if name in loaded else getattr(dispute, name)
        for name in _DISPUTE_COLUMNS
    }
    view.update(
        items=lists.items,
        awaiting=disputes.awaiting(dispute),
        allowed_actions=disputes.allowed_actions(dispute, who, conflicted=conflicted, offer=offer),
        deadline=(
            {
                "action": dispute.deadline_action,
                "due_at": dispute.deadline_due_at,
                "party": disputes.deadline_party(dispute),
            }
            if dispute.deadline_action
            else None
        ),
        pending_offer=_offer_view(offer) if offer is not None else None,
        fulfilment_shipment=(
            {
                "carrier": dispute.fulfilment_carrier,
                "tracking_number": dispute.fulfilment_tracking_number,
                "shipped_at": dispute.fulfilment_shipped_at,
            }
            if dispute.fulfilment_carrier
            else None
        ),
        compensations=lists.compensations,
        refund=lists.refunds[-1] if lists.refunds else None,
        refunds=lists.refunds,
        return_shipment=(
            {
                "carrier": dispute.return_carrier,
                "tracking_number": dispute.return_tracking_number,
                "shipped_at": dispute.return_shipped_at,
            }
            if dispute.return_carrier
            else None
        ),
        decision=_decision_view(ruling, dispute, who) if ruling is not None else None,
        extensions_used=[
            party for party in ("buyer", "seller") if getattr(dispute, f"{party}_extension_used")
        ],
    )
    return view


def _offer_view(offer: Any) -> dict[str, Any]:
    """An :class:`Offer` or its columns."""
    return {
        "id": offer.id,
        "kind": offer.kind,
        "amount": None,
        "remedy": None,
        "compensation": None,
        **offer_terms(offer),
        "note": offer.note,
        "created_at": offer.created_at,
    }


def _decision_view(
    ruling: Decision | _RulingColumns, dispute: Dispute | _Columns, who: Caller
) -> dict[str, Any]:
    """The ruling in force; a seller never learns the buyer was found at fault (DESIGN §5a)."""
    loaded = ruling.__dict__  # as for the dispute: an expired column (or a property) as usual
    view = {
        name: loaded[name] if name in loaded else getattr(ruling, name) for name in DECISION_FIELDS
    }
    if who.id == dispute.seller_id:
        view["buyer_violation"] = None
    return view
