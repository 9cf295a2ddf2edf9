"""Compensations the engine instructs (DESIGN §1a): store credit or a coupon the seller offered and
the buyer accepted, granted by the platform like a refund: once, announced, then confirmed by it.

Unlike a refund it is not money back on the order (the order's refunded amount is untouched); an
unconfirmed compensation is flagged after the policy's ``refund_confirmation``, as a refund is.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from arbitration.accounts import Caller
from arbitration.deadlines import COMPENSATION_OVERDUE, compensation_watch
from arbitration.errors import ValidationFailed
from arbitration.events import CompensationInstructed, record
from arbitration.ids import new_id
from arbitration.models import Compensation, Dispute
from arbitration.policy import Policy
from arbitration.recoveries import open_recovery
from arbitration.refunds import PLATFORM_FUNDED, confirm_instructed, funded_by
from arbitration.rows import Rows

KINDS = ("store_credit", "coupon")
_COMPENSATIONS = Rows(Compensation)


def compensation_terms(value: object, *, field: str = "compensation") -> tuple[str, int] | None:
    """A compensation as an offer or a ruling states it, ``{"kind": ..., "amount": n}``, checked
    (422 naming ``field``); None when none is given."""
    if value is None:
        return None
    kind = value.get("kind") if isinstance(value, dict) else None
    amount = value.get("amount") if isinstance(value, dict) else None
    problems = []
    if kind not in KINDS:
        problems.append(f"kind: one of {', '.join(KINDS)}")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        problems.append("amount: a positive amount in minor units")
    if problems:
        raise ValidationFailed("the compensation is incomplete", details={field: problems})
    assert isinstance(kind, str) and isinstance(amount, int)
    return kind, amount


def instruct_compensation(
    session: Session,
    *,
    dispute: Dispute,
    kind: str,
    amount: int,
    ordered_by: str,
    policy: Policy,
    at: datetime,
    timers: list[dict[str, object]],
) -> Compensation:
    """Record a compensation the platform must grant, once for what ordered it (a unique
    constraint on the dispute and ``ordered_by``), watch for its confirmation (a row joining
    ``timers``, as a refund's does) and announce it.
    Who funds it follows the refunds' rule (``refunds.funded_by``): the platform first only on a
    ruling against a seller who cannot pay (or within ``max_amount``), then recovers it."""
    funder = funded_by(
        session, dispute=dispute, amount=amount, ordered_by=ordered_by, policy=policy, at=at
    )
    compensation = _COMPENSATIONS.new(
        id=new_id("cmp", at),
        dispute_id=dispute.id,
        ordered_by=ordered_by,
        kind=kind,
        amount=amount,
        currency=dispute.currency,
        instructed_at=at,
        funded_by=funder,
    )
    # It refers only to the dispute, written: no flush first.
    _COMPENSATIONS.insert(session, compensation)
    timers.append(compensation_watch(compensation, policy=policy, at=at))
    record(
        session,
        CompensationInstructed(
            dispute_id=dispute.id,
            at=at,
            compensation_id=compensation.id,
            order_id=dispute.order_id,
            buyer_id=dispute.buyer_id,
            kind=kind,
            amount=amount,
            currency=compensation.currency,
            ordered_by=ordered_by,
            funded_by=funder,
        ),
    )
    if funder == PLATFORM_FUNDED:
        open_recovery(session, dispute=dispute, owed=compensation, policy=policy, at=at)
    return compensation


def may_have_compensations(dispute: Dispute) -> bool:
    """Only an accepted compensation offer (closing the dispute settled) or a ruling orders one:
    a dispute with neither has none to look up."""
    return dispute.outcome == "settled" or dispute.decision_id is not None


def compensations_of(session: Session, dispute_id: str) -> list[Compensation]:
    return list(
        session.scalars(
            select(Compensation)
            .where(Compensation.dispute_id == dispute_id)
            .order_by(Compensation.instructed_at, Compensation.id)
        )
    )


def confirm_compensation(
    session: Session, *, caller: Caller, dispute_id: str, at: datetime
) -> list[Compensation]:
    """The platform says the dispute's compensations were granted."""
    return confirm_instructed(
        session,
        caller=caller,
        dispute_id=dispute_id,
        model=Compensation,
        watch=COMPENSATION_OVERDUE,
        at=at,
    )
