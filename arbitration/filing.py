"""Filing: a buyer's refund request on an order opens a dispute, and joins or makes a batch (§2).

What a request may ask for (``refundable_cap``, ``check_amount``) is the same rule when a buyer
amends the request later (``arbitration.party_actions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_dict, manager_of_class, set_committed_value
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from arbitration import lifecycle
from arbitration.accounts import BUYER, Caller
from arbitration.audit import hold_head, new_link, note, write_link
from arbitration.classification import classify, priority_rank
from arbitration.db import execute_core, execute_later
from arbitration.deadlines import plan_timer, write_timers
from arbitration.disputes import LineRead
from arbitration.errors import Conflict, Forbidden, ValidationFailed
from arbitration.ids import new_id
from arbitration.models import Dispute, DisputeItem
from arbitration.orders import Terms, lock_order_terms_then
from arbitration.policy import Policy
from arbitration.rows import Rows, as_loaded
from arbitration.statements import prepared


@dataclass(frozen=True)
class ItemIn:
    listing_id: str
    quantity: int


@dataclass(frozen=True)
class DisputeIn:
    order_id: str
    reason: str
    remedy: str
    amount: int
    description: str = ""
    channel: str = "web"
    items: tuple[ItemIn, ...] | None = None


def refundable_cap(order: Terms, items: tuple[ItemIn, ...] | None) -> tuple[int, list[LineRead]]:
    """The most a request may ask for, and the lines it is about (default: the whole order)."""
    remaining = order.amount - order.refunded_amount
    if items is None:
        chosen = [
            LineRead(line.listing_id, line.quantity, line.quantity * line.unit_price)
            for line in order.items
        ]
        return remaining, chosen
    if not items:
        raise ValidationFailed("name at least one order line", details={"items": ["empty"]})
    lines = {line.listing_id: line for line in order.items}
    chosen = []
    problems = []
    for item in items:
        line = lines.get(item.listing_id)
        if line is None:
            problems.append(f"{item.listing_id} is not on order {order.id}")
        elif not 0 < item.quantity <= line.quantity:
            problems.append(f"{item.listing_id}: quantity must be 1 to {line.quantity}")
        else:
            chosen.append(LineRead(item.listing_id, item.quantity, item.quantity * line.unit_price))
    if len({item.listing_id for item in items}) != len(items):
        problems.append("each listing may appear once")
    if problems:
        raise ValidationFailed("the items do not match the order", details={"items": problems})
    return min(remaining, sum(item.value for item in chosen)), chosen


def check_amount(amount: int, cap: int) -> None:
    if amount <= 0:
        raise ValidationFailed("the amount must be positive", details={"amount": ["must be > 0"]})
    if amount > cap:
        raise ValidationFailed(
            "the amount exceeds what can still be refunded",
            details={
                "amount": [f"at most {cap}: the lines concerned, within what is left of the order"]
            },
        )


def file_dispute(
    session: Session, *, caller: Caller, dispute_in: DisputeIn, policy: Policy, at: datetime
) -> Dispute:
    """A buyer asks for a refund on an order: the dispute opens awaiting the seller."""
    if caller.role != BUYER:
        raise Forbidden("only buyers file disputes")
    # Lock the order (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises) so two filings on
    # one order cannot both pass the "no open dispute" check, which runs after the lock is taken
    # (in the same round trip).
    order, open_dispute = lock_order_terms_then(
        session, dispute_in.order_id, (_OPEN_DISPUTE, {"order_id": dispute_in.order_id})
    )
    if order is None or order.buyer_id != caller.id:
        raise ValidationFailed(
            "no such order of yours", details={"order_id": [f"no order {dispute_in.order_id}"]}
        )
    assert open_dispute is not None
    if found := open_dispute.scalar():
        raise Conflict(
            "this order already has an open dispute",
            code="open_dispute_exists",
            details={"dispute_id": found},
        )
    cap, items = refundable_cap(order, dispute_in.items)
    check_amount(dispute_in.amount, cap)
    classification = classify(
        reason=dispute_in.reason, amount=dispute_in.amount, policy=policy.classification
    )
    dispute = _new_dispute(
        id=new_id("dsp", at),
        order_id=order.id,
        open_order_id=order.id,
        buyer_id=order.buyer_id,
        seller_id=order.seller_id,
        status=lifecycle.AWAITING_SELLER,
        reason=dispute_in.reason,
        remedy=dispute_in.remedy,
        channel=dispute_in.channel,
        description=dispute_in.description,
        amount=dispute_in.amount,
        whole_order=dispute_in.items is None,
        currency=order.currency,
        category=classification.category,
        priority=classification.priority,
        created_at=at,
        updated_at=at,
    )
    timer = plan_timer(dispute, order_shipped=order.shipped, policy=policy, at=at)
    instance_dict(dispute).update(  # a new row: its columns go into its dict, as they will be
        deadline_action=timer.deadline_action,
        deadline_due_at=timer.deadline_due_at,
        sla_due_at=timer.sla_due_at,
    )
    hold_head(session, dispute)  # a new row: its first link is written with it
    link = new_link(
        session,
        dispute_id=dispute.id,
        actor_id=caller.id,
        action="file",
        from_status=None,
        to_status=lifecycle.AWAITING_SELLER,
        payload={
            "order_id": order.id,
            "reason": dispute_in.reason,
            "remedy": dispute_in.remedy,
            "amount": dispute_in.amount,
            "currency": order.currency,
            "channel": dispute_in.channel,
            "items": [{"listing_id": i.listing_id, "quantity": i.quantity} for i in items],
            **({"via": caller.via.id} if caller.via else {}),
        },
        at=at,
    )
    _insert_new(session, dispute, items)
    write_link(session, link)
    if items:
        rows = [
            {
                "dispute_id": dispute.id,
                "listing_id": i.listing_id,
                "quantity": i.quantity,
                "value": i.value,
            }
            for i in items
        ]
        execute_later(session, _INSERT_ITEMS, rows, flush=False)
    write_timers(session, timer.rows)
    _flag_batches(session, dispute=dispute, items=items, policy=policy, at=at)
    return dispute


# A new dispute's every column: its default, else NULL (``priority_rank`` follows ``priority``).
# Each is set on the object, so once inserted none is read back from the database.
_NEW_DISPUTE: dict[str, object] = {
    column.key: column.default.arg
    if isinstance(column.default, ScalarElementColumnDefault)
    else None
    for column in Dispute.__table__.columns
    if column.key != "priority_rank"
}
_DISPUTE_COLUMNS = tuple(column.key for column in Dispute.__table__.columns)
_DISPUTE_CLASS = manager_of_class(Dispute)


def _new_dispute(*, priority: str, **fields: object) -> Dispute:
    """A transient dispute holding every column, its values put straight into its dict as the
    ORM's loader does (the constructor's event per attribute costs more than the insert), the
    priority's rank with it (what ``Dispute._rank_follows_priority`` sets when it is changed)."""
    dispute: Dispute = _DISPUTE_CLASS.new_instance()
    instance_dict(dispute).update(
        _NEW_DISPUTE, **fields, priority=priority, priority_rank=priority_rank(priority)
    )
    return dispute


_INSERT_DISPUTE = prepared(insert(Dispute))
_DISPUTE_ITEMS = Rows(DisputeItem)


def _insert_new(session: Session, dispute: Dispute, items: list[LineRead]) -> None:
    """Insert the new dispute as a plain row, then make the object the session's copy of it.

    The unit of work would cost more than the statement: the object holds every column (its
    deadline and chain head included), so it goes into the session as if just loaded, with the
    lines (inserted next, as rows) as its ``items``, made as :class:`rows.Rows` makes a row.
    """
    values = dispute.__dict__
    # It waits for the next statement (``execute_later``): the order's lock and the check before
    # it leave no open dispute on the order to collide with, so a failure here is a bug.
    execute_later(session, _INSERT_DISPUTE, {key: values[key] for key in _DISPUTE_COLUMNS})
    as_loaded(session, dispute)
    lines = [
        _DISPUTE_ITEMS.new(
            dispute_id=dispute.id, listing_id=i.listing_id, quantity=i.quantity, value=i.value
        )
        for i in items
    ]
    set_committed_value(dispute, "items", lines)


# Built once (building a statement costs more than running it): the open disputes filed within
# the window on one listing for one reason, i.e. one batch.
_BATCH_MEMBERS = (
    select(Dispute.id, Dispute.status)
    .join(DisputeItem, DisputeItem.dispute_id == Dispute.id)
    .where(
        DisputeItem.listing_id == bindparam("listing_id"),
        Dispute.reason == bindparam("reason"),
        Dispute.status != lifecycle.CLOSED,
        Dispute.created_at >= bindparam("since"),
    )
)
_FLAGGED_MEMBER = (
    _BATCH_MEMBERS.with_only_columns(Dispute.id).where(Dispute.systemic.is_(True)).limit(1)
)
_BATCH_SIZE = prepared(_BATCH_MEMBERS.with_only_columns(func.count()))
# One statement per line filed: a flagged member to join, else how many members there are, counted
# no further than a batch's size (``enough``), so a flagged batch of thousands is not counted.
_BATCH_PROBE = prepared(
    select(
        _FLAGGED_MEMBER.scalar_subquery(),
        select(func.count())
        .select_from(
            _BATCH_MEMBERS.with_only_columns(Dispute.id).limit(bindparam("enough")).subquery()
        )
        .scalar_subquery(),
    )
)
_UNFLAGGED_MEMBERS = prepared(
    _BATCH_MEMBERS.where(Dispute.systemic.is_(False)).order_by(Dispute.id)
)
_OPEN_DISPUTE = prepared(select(Dispute.id).where(Dispute.open_order_id == bindparam("order_id")))
_INSERT_ITEMS = prepared(insert(DisputeItem))


def _flag_batches(
    session: Session, *, dispute: Dispute, items: list[LineRead], policy: Policy, at: datetime
) -> None:
    """Many open disputes on one listing for one reason within the window form a batch (§2).

    A filing's cost must not grow with the batch (a bad production run of a popular product can
    bring thousands): one statement per line finds a flagged member to join (an indexed look-up)
    or counts the members no further than a batch's size; only a batch about to be flagged, once,
    is counted in full. Nothing is loaded but the ids and statuses of what gets flagged."""
    rules = policy.classification
    since = at - rules.batch_window
    reason = dispute.reason
    for item in items:
        batch = {"listing_id": item.listing_id, "reason": reason, "since": since}
        probe = batch | {"enough": rules.batch_min_disputes}
        joined, counted = execute_core(session, _BATCH_PROBE, probe).one()
        payload: dict[str, object] = {"listing_id": item.listing_id}
        if joined is not None:
            # The batch was flagged whole, and each filing since joined it: only this one is new.
            payload["joined"] = joined  # a member of the batch already flagged
            unflagged = [] if dispute.systemic else [(dispute.id, dispute.status)]
        elif counted < rules.batch_min_disputes:
            continue
        else:
            # A batch now, to be flagged: its size, counted in full once.
            size = execute_core(session, _BATCH_SIZE, batch).scalar()
            payload["open_disputes"] = size
            rows = execute_core(session, _UNFLAGGED_MEMBERS, batch)
            unflagged = [(row[0], row[1]) for row in rows]
        for member_id, status in unflagged:
            session.execute(
                update(Dispute).where(Dispute.id == member_id).values(scope="batch", systemic=True)
            )
            note(
                session,
                dispute_id=member_id,
                status=status,
                actor_id=lifecycle.SYSTEM,
                action="flag-systemic",
                payload=payload,
                at=at,
            )
