"""Refunds the engine instructs: exactly the agreed or decided amount, once per dispute.

The platform pays and then confirms; an unconfirmed refund is flagged after the policy's
``refund_confirmation`` (the seed rule: money back within 3 days). Each refund says who funds it
(DESIGN §5a): the seller, or the platform first when a ruling found the seller responsible and
the seller cannot be made to pay now (frozen or banned, asked through ``party_standing``) or the
amount is small enough (``advance_compensation.max_amount``); a recovery is then opened.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Update, bindparam, inspect, select, update
from sqlalchemy.orm import Session

from arbitration.accounts import PLATFORM, Caller
from arbitration.audit import note
from arbitration.db import execute_core
from arbitration.deadlines import CANCELLED, IS_PENDING, REFUND_OVERDUE, refund_watch
from arbitration.disputes import get_dispute
from arbitration.errors import Conflict, Forbidden
from arbitration.events import RefundInstructed, record
from arbitration.ids import new_id
from arbitration.models import Compensation, Deadline, Decision, Dispute, Order, Refund
from arbitration.party_standing import party_standing
from arbitration.policy import Policy
from arbitration.recoveries import open_recovery
from arbitration.rows import Rows, loaded
from arbitration.statements import prepared

# A refund counted on its order, relative to what the row holds, if the order covers it (built
# once): no row updated means the refund would exceed the order.
_COUNT_REFUND = prepared(
    update(Order)
    .where(
        Order.id == bindparam("order_id"),
        Order.refunded_amount + bindparam("refunded") <= Order.amount,
    )
    .values(refunded_amount=Order.refunded_amount + bindparam("refunded"))
    .execution_options(synchronize_session=False)
)
_ORDER_AMOUNTS = prepared(
    select(Order.amount, Order.refunded_amount).where(Order.id == bindparam("order_id"))
)
# The same, also answering the party-standing port's question whether the seller is frozen or
# banned (``seller_frozen_or_banned_sql``), built once per question asked.
_COUNT_REFUND_ASKING: dict[int, tuple[ColumnElement[bool], Update]] = {}
_REFUNDS = Rows(Refund)
# Refunds counted on their order before they are instructed (``reserve_refund``), by what orders
# them: a decision's id is new, so a reservation a rolled-back savepoint left is never taken. Each
# is the amount and, if it was asked, whether the seller could not pay (frozen or banned).
_RESERVED = "arbitration.refunds.reserved"

# What the platform is told to pay or grant, and then confirms.
Instructed = TypeVar("Instructed", Refund, Compensation)

# What orders a refund when no ruling does: the parties agreed, or the system acted for one.
AGREEMENT = "agreement"
# Who funds a refund (DESIGN §5a).
SELLER_FUNDED = "seller"
PLATFORM_FUNDED = "platform"
FUNDERS = (SELLER_FUNDED, PLATFORM_FUNDED)
# Rulings that find the seller responsible (alone or in part), as for a seller's violation.
SELLER_RESPONSIBLE = frozenset({"seller", "shared"})


def funded_by(
    session: Session,
    *,
    dispute: Dispute,
    amount: int,
    ordered_by: str,
    policy: Policy,
    at: datetime,
    seller_cannot_pay: bool | None = None,
) -> str:
    """The platform pays first only on a ruling against the seller, when the seller is frozen or
    banned or the amount is at most the policy's ``max_amount``; otherwise the seller pays.

    ``seller_cannot_pay``: the answer to "frozen or banned?" when a statement already carried it
    (``reserve_refund``); asked through the party-standing port otherwise, when it matters.
    """
    if ordered_by == AGREEMENT:
        return SELLER_FUNDED
    decision = _decision(session, ordered_by)
    if decision is None or decision.responsibility not in SELLER_RESPONSIBLE:
        return SELLER_FUNDED
    if amount <= policy.advance_compensation.max_amount:
        return PLATFORM_FUNDED
    if seller_cannot_pay is None:
        seller_cannot_pay = party_standing(session).seller_frozen_or_banned(
            session, seller_id=dispute.seller_id, at=at
        )
    return PLATFORM_FUNDED if seller_cannot_pay else SELLER_FUNDED


def _asks_whether_seller_can_pay(responsibility: str | None, amount: int, policy: Policy) -> bool:
    """Whether ``funded_by`` will ask if the seller is frozen or banned, for a ruling's refund."""
    return responsibility in SELLER_RESPONSIBLE and amount > policy.advance_compensation.max_amount


def _decision(session: Session, decision_id: str) -> Decision | None:
    """The decision, taken from the session when this transaction recorded it (no round trip)."""
    return loaded(session, Decision, decision_id) or session.get(Decision, decision_id)


def left_to_refund(session: Session, order_id: str) -> int:
    """What is left to refund on the order: the session's copy if it holds one, else read as a
    plain row (a ruling needs only the two amounts, not the order)."""
    order = loaded(session, Order, order_id)
    if order is not None:
        return order.amount - order.refunded_amount
    amount, refunded = execute_core(session, _ORDER_AMOUNTS, {"order_id": order_id}).one()
    return int(amount - refunded)


def reserve_refund(
    session: Session,
    *,
    dispute: Dispute,
    amount: int,
    ordered_by: str,
    responsibility: str | None,
    policy: Policy,
    at: datetime,
) -> bool:
    """Count a refund about to be ordered (by ``ordered_by``, a ruling finding ``responsibility``)
    on its order now, checked there: False, counting nothing, if it would exceed the order.

    A ruling asks while it checks its terms, so that one statement both answers its 422 and counts
    the refund, and, when its funding depends on it (``funded_by``), says whether the seller is
    frozen or banned; ``instruct_refund`` then takes the reservation instead of counting it again.
    """
    asks = _asks_whether_seller_can_pay(responsibility, amount, policy)
    counted, cannot_pay = _count_on_order(
        session,
        order_id=dispute.order_id,
        amount=amount,
        seller_id=dispute.seller_id if asks else None,
        at=at,
    )
    if not counted:
        return False
    session.info.setdefault(_RESERVED, {})[ordered_by] = (amount, cannot_pay)
    return True


def instruct_refund(
    session: Session,
    *,
    dispute: Dispute,
    amount: int,
    ordered_by: str,
    policy: Policy,
    at: datetime,
    timers: list[dict[str, object]],
) -> Refund:
    """Record a refund the platform must pay, once for what ordered it (``agreement`` or a
    decision id: a unique constraint), count it on the order and announce it. Its watch joins
    ``timers``, the deadline rows the action writes at once (``deadlines.write_timers``)."""
    reserved: tuple[int, bool | None] | None = session.info.get(_RESERVED, {}).pop(ordered_by, None)
    cannot_pay = None
    if reserved is None:
        if not _count_on_order(session, order_id=dispute.order_id, amount=amount, at=at)[0]:
            raise Conflict("the refund would exceed the order amount", code="refund_exceeds_order")
    else:
        reserved_amount, cannot_pay = reserved
        assert reserved_amount == amount, (
            f"{ordered_by} reserved {reserved_amount}, instructs {amount}"
        )
    funder = funded_by(
        session,
        dispute=dispute,
        amount=amount,
        ordered_by=ordered_by,
        policy=policy,
        at=at,
        seller_cannot_pay=cannot_pay,
    )
    refund_id = new_id("rfd", at)
    dispute_id, order_id, currency = dispute.id, dispute.order_id, dispute.currency
    refund = _REFUNDS.new(
        id=refund_id,
        dispute_id=dispute_id,
        ordered_by=ordered_by,
        order_id=order_id,
        amount=amount,
        currency=currency,
        instructed_at=at,
        funded_by=funder,
    )
    # It refers to the dispute and the order, both written: no flush first.
    _REFUNDS.insert(session, refund)
    timers.append(refund_watch(refund, policy=policy, at=at))
    dispute.refund_amount = (dispute.refund_amount or 0) + amount
    record(
        session,
        RefundInstructed(
            dispute_id=dispute_id,
            at=at,
            refund_id=refund_id,
            order_id=order_id,
            amount=amount,
            currency=currency,
            decision_id=None if ordered_by == AGREEMENT else ordered_by,
            funded_by=funder,
        ),
    )
    if funder == PLATFORM_FUNDED:
        open_recovery(session, dispute=dispute, owed=refund, policy=policy, at=at)
    return refund


def _count_on_order(
    session: Session, *, order_id: str, amount: int, at: datetime, seller_id: str | None = None
) -> tuple[bool, bool | None]:
    """Add the refund to the order's refunded amount, in the database and checked there: False,
    counting nothing, if it would exceed the order. Nothing pending can change the row but the
    order's own changes: the rest of the transaction's rows are written with the others.

    With a ``seller_id``, the same statement also says whether that seller is frozen or banned at
    ``at`` (the second value; None when not asked or not counted).
    """
    order = loaded(session, Order, order_id)
    flush = order is not None and inspect(order).modified
    params: dict[str, Any] = {"order_id": order_id, "refunded": amount}
    if seller_id is None:
        counted = execute_core(session, _COUNT_REFUND, params, flush=flush).rowcount == 1
        cannot_pay = None
    else:
        standing = party_standing(session)
        params |= {"standing_seller_id": seller_id, "standing_at": at}
        row = execute_core(
            session,
            _count_refund_asking(standing.seller_frozen_or_banned_sql),
            params,
            flush=flush or standing.changes_pending(session),
        ).first()
        counted = row is not None
        cannot_pay = bool(row[0]) if row is not None else None
    if counted and order is not None:
        session.expire(order, ["refunded_amount"])
    return counted, cannot_pay


def _count_refund_asking(question: ColumnElement[bool]) -> Update:
    """``_COUNT_REFUND`` returning the answer to ``question`` about the seller, built once each."""
    found = _COUNT_REFUND_ASKING.get(id(question))
    if found is None:
        # The question is kept with its statement, so its id is never another's.
        asking = prepared(_COUNT_REFUND.returning(question))
        found = _COUNT_REFUND_ASKING[id(question)] = (question, asking)
    return found[1]


def confirm_refund(
    session: Session, *, caller: Caller, dispute_id: str, at: datetime
) -> list[Refund]:
    """The platform says the dispute's refunds were paid."""
    return confirm_instructed(
        session, caller=caller, dispute_id=dispute_id, model=Refund, watch=REFUND_OVERDUE, at=at
    )


def confirm_instructed(
    session: Session,
    *,
    caller: Caller,
    dispute_id: str,
    model: type[Instructed],
    watch: str,
    at: datetime,
) -> list[Instructed]:
    """The platform says what the dispute instructed it to pay or grant (its refunds, or its
    compensations) was done: the overdue watch (``watch``) stops and the timeline records it.

    The rows are locked (PostgreSQL), so a second confirmation at the same moment waits for the
    first and then sees them confirmed: a 409, not a second confirmation (SQLite: BEGIN IMMEDIATE).
    """
    noun = model.__tablename__.removesuffix("s")  # refund, compensation
    if caller.role != PLATFORM or caller.via is not None:
        raise Forbidden(f"only the platform confirms {noun}s")
    dispute = get_dispute(session, caller=caller, dispute_id=dispute_id)
    instructed = list(
        session.scalars(
            select(model)
            .where(model.dispute_id == dispute.id)
            .order_by(model.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    if not instructed:
        raise Conflict(f"this dispute has no {noun} to confirm", code=f"no_{noun}")
    unconfirmed = [row for row in instructed if row.confirmed_at is None]
    if not unconfirmed:
        raise Conflict(f"the {noun} was already confirmed", code=f"{noun}_already_confirmed")
    for row in unconfirmed:
        row.confirmed_at = at
    session.execute(
        update(Deadline)
        .where(
            Deadline.dispute_id == dispute.id,
            Deadline.action == watch,
            IS_PENDING,
        )
        .values(status=CANCELLED, settled_at=at)
        .execution_options(synchronize_session=False)
    )
    note(
        session,
        dispute_id=dispute.id,
        status=dispute.status,
        actor_id=caller.id,
        action=f"{noun}-confirmed",
        payload={
            f"{noun}_ids": [row.id for row in unconfirmed],
            "amount": sum(row.amount for row in unconfirmed),
        },
        at=at,
    )
    return unconfirmed
