"""The buyer ledger (DESIGN §5a): buyer violations a ruling names, points, and the review flag.

Like the seller's ledger (``penalties.ledger``), every change first locks the buyer's standing
row, so concurrent rulings against one buyer raise the flag once. Points are the policy's, summed
over ``buyer_abuse.window`` (and only since the last lift: a lifted buyer starts afresh); reaching
``review_threshold`` puts the buyer under review. Trust & safety lifts the flag or confirms it.

Under review, a silent seller's timer sends the buyer's case to the platform instead of refunding
(the lifecycle table asks ``buyer_under_review`` through the core's ``PartyStanding`` port, which
``PenaltiesStanding`` answers). Sellers never see the flag: a 404 here, and on their dispute only
"the platform is reviewing this request".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from arbitration.accounts import (
    ADMIN,
    ARBITRATOR,
    BUYER,
    PLATFORM,
    SENIOR_ARBITRATOR,
    TRUST_SAFETY,
    Caller,
)
from arbitration.db import execute_core
from arbitration.errors import Conflict, Forbidden, NotFound
from arbitration.events import DecisionOverturned, DisputeDecided, Handlers
from arbitration.ids import new_id
from arbitration.models import Account, Dispute
from arbitration.policy import Policy
from arbitration.statements import prepared
from penalties.models import (
    ACTIVE,
    CLEAR,
    CONFIRMED,
    REVOKED,
    UNDER_REVIEW,
    BuyerStanding,
    BuyerViolation,
    Penalty,
)

FLAGGED = frozenset({UNDER_REVIEW, CONFIRMED})
# Who sees a buyer's standing: the platform's own token, staff who rule or review, the buyer.
OVERSEERS = frozenset({PLATFORM, TRUST_SAFETY, ADMIN, ARBITRATOR, SENIOR_ARBITRATOR})
STOPS_SELLING = frozenset({"account_freeze", "permanent_ban"})
SYSTEM = "system"


# The port the core asks (arbitration.party_standing) ---------------------------------------------

# Whether a freeze or a ban is in force against a seller (``in_force`` in SQL, built once), for the
# core to ask alone or on a statement it runs anyway. The kinds are compared one by one: a list
# given to ``IN`` is expanded into parameters on every execution.
SELLER_FROZEN_OR_BANNED = exists().where(
    Penalty.seller_id == bindparam("standing_seller_id"),
    Penalty.status == ACTIVE,
    or_(*(Penalty.kind == kind for kind in sorted(STOPS_SELLING))),
    or_(Penalty.ends_at.is_(None), Penalty.ends_at > bindparam("standing_at")),
)
_SELLING_STOPPED = prepared(select(SELLER_FROZEN_OR_BANNED))


class PenaltiesStanding:
    """Answers the core's questions from the penalties tables (registered by ``api.wiring``)."""

    seller_frozen_or_banned_sql: ColumnElement[bool] = SELLER_FROZEN_OR_BANNED

    def changes_pending(self, session: Session) -> bool:
        """Penalty changes not yet written (a query must see them); the rest of the transaction's
        changes need not be flushed for the question."""
        return any(
            isinstance(obj, Penalty) for obj in (*session.new, *session.dirty, *session.deleted)
        )

    def seller_frozen_or_banned(self, session: Session, *, seller_id: str, at: datetime) -> bool:
        """Read as one value, flushing only the penalty changes not yet written."""
        return bool(
            execute_core(
                session,
                _SELLING_STOPPED,
                {"standing_seller_id": seller_id, "standing_at": at},
                flush=self.changes_pending(session),
            ).scalar()
        )

    def buyer_under_review(self, session: Session, *, buyer_id: str) -> bool:
        row = session.get(BuyerStanding, buyer_id)
        return row is not None and row.review_status in FLAGGED


# The ledger ---------------------------------------------------------------------------------------


def _ensure_standing(insert: Any) -> Any:
    """A buyer's standing row, clear, unless it exists (each dialect says so its own way)."""
    return (
        insert(BuyerStanding)
        .values(buyer_id=bindparam("buyer"), review_status=CLEAR, updated_at=bindparam("at"))
        .on_conflict_do_nothing(index_elements=["buyer_id"])
    )


# Built once per dialect: building a statement costs more than running it.
_ENSURE_STANDING_POSTGRESQL = prepared(_ensure_standing(postgresql_insert))
_ENSURE_STANDING_SQLITE = prepared(_ensure_standing(sqlite_insert))


def _lock(session: Session, *, buyer_id: str, at: datetime) -> BuyerStanding:
    execute_core(
        session,
        _ENSURE_STANDING_POSTGRESQL
        if session.get_bind().dialect.name == "postgresql"
        else _ENSURE_STANDING_SQLITE,
        {"buyer": buyer_id, "at": at},
    )
    row = session.get(BuyerStanding, buyer_id, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


def points(
    session: Session, row: BuyerStanding | None, buyer_id: str, policy: Policy, at: datetime
) -> int:
    """The buyer's active points within the window, since the last lift."""
    since = at - policy.buyer_abuse.window
    if row is not None and row.counts_from is not None and row.counts_from > since:
        since = row.counts_from
    total = session.scalar(
        select(func.coalesce(func.sum(BuyerViolation.points), 0)).where(
            BuyerViolation.buyer_id == buyer_id,
            BuyerViolation.status == ACTIVE,
            BuyerViolation.recorded_at > since,
        )
    )
    return int(total or 0)


def record_violation(
    session: Session,
    *,
    buyer_id: str,
    kind: str,
    actor_id: str,
    policy: Policy,
    at: datetime,
    dispute_id: str | None,
    decision_id: str | None,
) -> BuyerViolation:
    """Put a buyer violation on the ledger; at the threshold, the buyer is under review."""
    row = _lock(session, buyer_id=buyer_id, at=at)
    violation = BuyerViolation(
        id=new_id("bvi", at),
        buyer_id=buyer_id,
        kind=kind,
        points=policy.buyer_abuse.violations[kind],
        dispute_id=dispute_id,
        decision_id=decision_id,
        recorded_by=actor_id,
        status=ACTIVE,
        recorded_at=at,
    )
    session.add(violation)
    session.flush()
    if row.review_status == CLEAR and (
        points(session, row, buyer_id, policy, at) >= policy.buyer_abuse.review_threshold
    ):
        row.review_status, row.flagged_at = UNDER_REVIEW, at
        row.reviewed_by = row.reviewed_at = row.review_note = None
    row.updated_at = at
    return violation


def revoke_violations(
    session: Session, *, decision_id: str, reason: str, policy: Policy, at: datetime
) -> None:
    """Take a ruling's buyer violation off; a flag the ledger raised (not T&S) drops with it."""
    for violation in session.scalars(
        select(BuyerViolation).where(
            BuyerViolation.decision_id == decision_id, BuyerViolation.status == ACTIVE
        )
    ).all():
        row = _lock(session, buyer_id=violation.buyer_id, at=at)
        violation.status, violation.revoked_at, violation.revoked_reason = REVOKED, at, reason
        session.flush()
        below = points(session, row, violation.buyer_id, policy, at)
        if row.review_status == UNDER_REVIEW and below < policy.buyer_abuse.review_threshold:
            row.review_status, row.flagged_at = CLEAR, None
        row.updated_at = at


def register(handlers: Handlers, *, policy: Policy) -> None:
    """Rulings that name a buyer violation feed the ledger; an overturn takes it back."""

    def on_decided(session: Session, event: DisputeDecided) -> None:
        if event.final or event.buyer_violation is None:
            return
        record_violation(
            session,
            buyer_id=event.buyer_id,
            kind=event.buyer_violation,
            actor_id=event.arbitrator_id,
            policy=policy,
            at=event.at,
            dispute_id=event.dispute_id,
            decision_id=event.decision_id,
        )

    def on_overturned(session: Session, event: DecisionOverturned) -> None:
        revoke_violations(
            session,
            decision_id=event.overturned_decision_id,
            reason="the ruling that named it was overturned on appeal",
            policy=policy,
            at=event.at,
        )
        if event.buyer_violation is not None:
            dispute = session.get(Dispute, event.dispute_id)
            assert dispute is not None
            record_violation(
                session,
                buyer_id=dispute.buyer_id,
                kind=event.buyer_violation,
                actor_id=SYSTEM,
                policy=policy,
                at=event.at,
                dispute_id=event.dispute_id,
                decision_id=event.decision_id,
            )

    handlers.on(DisputeDecided, on_decided)
    handlers.on(DecisionOverturned, on_overturned)
    handlers.party_standing = PenaltiesStanding()


# Reading and reviewing ----------------------------------------------------------------------------


@dataclass
class Standing:
    buyer_id: str
    points: int
    review_status: str
    since: datetime | None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_note: str | None = None
    violations: list[BuyerViolation] = field(default_factory=list)

    @property
    def under_review(self) -> bool:
        return self.review_status in FLAGGED

    @property
    def flags(self) -> list[str]:
        return ["under_review"] if self.under_review else []


def _require_buyer(session: Session, caller: Caller, buyer_id: str) -> None:
    """A 404 for an id that names no buyer, and for a caller who may not see this one."""
    account = session.get(Account, buyer_id)
    sees = (caller.via is None and caller.role in OVERSEERS) or (
        caller.role == BUYER and caller.id == buyer_id
    )
    if account is None or account.role != BUYER or not sees:
        raise NotFound(f"no buyer {buyer_id}")


def standing(
    session: Session, *, caller: Caller, buyer_id: str, policy: Policy, at: datetime
) -> Standing:
    """The buyer's points, review flag and since when, and their recent violations."""
    _require_buyer(session, caller, buyer_id)
    row = session.get(BuyerStanding, buyer_id)
    recent = session.scalars(
        select(BuyerViolation)
        .where(BuyerViolation.buyer_id == buyer_id)
        .order_by(BuyerViolation.recorded_at.desc(), BuyerViolation.id.desc())
        .limit(50)
    ).all()
    return Standing(
        buyer_id=buyer_id,
        points=points(session, row, buyer_id, policy, at),
        review_status=row.review_status if row else CLEAR,
        since=row.flagged_at if row and row.review_status in FLAGGED else None,
        reviewed_by=row.reviewed_by if row else None,
        reviewed_at=row.reviewed_at if row else None,
        review_note=row.review_note if row else None,
        violations=list(recent),
    )


def _review(
    session: Session,
    caller: Caller,
    buyer_id: str,
    allowed: frozenset[str],
    doing: str,
    at: datetime,
) -> BuyerStanding:
    _require_buyer(session, caller, buyer_id)
    if caller.role != TRUST_SAFETY or caller.via is not None:
        raise Forbidden(f"only trust & safety {doing} a buyer's review flag")
    row = _lock(session, buyer_id=buyer_id, at=at)
    if row.review_status not in allowed:
        raise Conflict(
            f"the buyer's review flag is {row.review_status}: nothing to {doing.rstrip('s')}",
            code=f"buyer_{row.review_status}",
            details={"review_status": row.review_status},
        )
    return row


def lift(session: Session, *, caller: Caller, buyer_id: str, note: str, at: datetime) -> None:
    """Clear the flag (trust & safety): the normal path is back, and the count starts afresh."""
    row = _review(session, caller, buyer_id, FLAGGED, "lifts", at)
    row.review_status, row.flagged_at, row.counts_from = CLEAR, None, at
    row.reviewed_by, row.reviewed_at, row.review_note, row.updated_at = caller.id, at, note, at


def confirm(session: Session, *, caller: Caller, buyer_id: str, note: str, at: datetime) -> None:
    """Keep the flag, as a person's finding rather than the ledger's (trust & safety)."""
    row = _review(session, caller, buyer_id, frozenset({UNDER_REVIEW}), "confirms", at)
    row.review_status = CONFIRMED
    row.reviewed_by, row.reviewed_at, row.review_note, row.updated_at = caller.id, at, note, at
