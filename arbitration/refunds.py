"""Refunds the engine instructs: exactly the agreed or decided amount, once per dispute.

The platform pays and then confirms; an unconfirmed refund is flagged after the policy's
``refund_confirmation`` (the seed rule: money back within 3 days).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from arbitration.accounts import PLATFORM, Caller
from arbitration.audit import note
from arbitration.deadlines import CANCELLED, PENDING, REFUND_OVERDUE, watch_refund
from arbitration.disputes import get_dispute
from arbitration.errors import Conflict, Forbidden
from arbitration.events import RefundInstructed, record
from arbitration.ids import new_id
from arbitration.models import Deadline, Dispute, Order, Refund
from arbitration.policy import Policy

# What orders a refund when no ruling does: the parties agreed, or the system acted for one.
AGREEMENT = "agreement"


def instruct_refund(
    session: Session,
    *,
    dispute: Dispute,
    amount: int,
    ordered_by: str,
    policy: Policy,
    at: datetime,
) -> Refund:
    """Record a refund the platform must pay, once for what ordered it (``agreement`` or a
    decision id: a unique constraint), count it on the order and announce it."""
    order = session.get(Order, dispute.order_id)
    assert order is not None
    if order.refunded_amount + amount > order.amount:
        raise Conflict("the refund would exceed the order amount", code="refund_exceeds_order")
    refund = Refund(
        id=new_id("rfd", at),
        dispute_id=dispute.id,
        ordered_by=ordered_by,
        order_id=order.id,
        amount=amount,
        currency=dispute.currency,
        instructed_at=at,
    )
    session.add(refund)
    watch_refund(session, refund=refund, policy=policy, at=at)
    session.execute(
        update(Order)
        .where(Order.id == order.id)
        .values(refunded_amount=Order.refunded_amount + amount)
        .execution_options(synchronize_session=False)
    )
    session.expire(order, ["refunded_amount"])
    dispute.refund_amount = (dispute.refund_amount or 0) + amount
    record(
        session,
        RefundInstructed(
            dispute_id=dispute.id,
            at=at,
            refund_id=refund.id,
            order_id=order.id,
            amount=amount,
            currency=refund.currency,
            decision_id=None if ordered_by == AGREEMENT else ordered_by,
        ),
    )
    return refund


def confirm_refund(
    session: Session, *, caller: Caller, dispute_id: str, at: datetime
) -> list[Refund]:
    """The platform says the dispute's refunds were paid: the overdue watch stops and the
    timeline records it."""
    if caller.role != PLATFORM or caller.via is not None:
        raise Forbidden("only the platform confirms refunds")
    dispute = get_dispute(session, caller=caller, dispute_id=dispute_id)
    # Locked (PostgreSQL), so a second confirmation at the same moment waits for the first and
    # then sees the refunds confirmed: a 409, not a second confirmation (SQLite: BEGIN IMMEDIATE).
    refunds = list(
        session.scalars(
            select(Refund)
            .where(Refund.dispute_id == dispute.id)
            .order_by(Refund.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    if not refunds:
        raise Conflict("this dispute has no refund to confirm", code="no_refund")
    unpaid = [refund for refund in refunds if refund.confirmed_at is None]
    if not unpaid:
        raise Conflict("the refund was already confirmed", code="refund_already_confirmed")
    for refund in unpaid:
        refund.confirmed_at = at
    session.execute(
        update(Deadline)
        .where(
            Deadline.dispute_id == dispute.id,
            Deadline.action == REFUND_OVERDUE,
            Deadline.status == PENDING,
        )
        .values(status=CANCELLED, settled_at=at)
        .execution_options(synchronize_session=False)
    )
    note(
        session,
        dispute_id=dispute.id,
        status=dispute.status,
        actor_id=caller.id,
        action="refund-confirmed",
        payload={
            "refund_ids": [refund.id for refund in unpaid],
            "amount": sum(refund.amount for refund in unpaid),
        },
        at=at,
    )
    return unpaid
