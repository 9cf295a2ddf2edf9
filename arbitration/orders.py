"""Order snapshots: what the marketplace tells us about an order, the ground a dispute stands on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Executable, bindparam, exists, select
from sqlalchemy.orm import Session

from arbitration.accounts import BUYER, PARTY_ROLES, PLATFORM, SELLER, Caller
from arbitration.db import execute_core_together
from arbitration.errors import Forbidden, NotFound, ValidationFailed
from arbitration.ids import check_external_id
from arbitration.models import Account, Dispute, Order, OrderItem
from arbitration.statements import Ran, prepared

ORDER_STATUSES = ("paid", "shipped", "delivered")
SHIPPED_STATUSES = ("shipped", "delivered")  # ``Order.shipped`` says the same of a row
# An order snapshot is written in one transaction: at this many lines it holds the write lock for
# milliseconds, where 330,000 lines held it for half a minute.
MAX_ORDER_LINES = 1000


@dataclass(frozen=True)
class LineIn:
    listing_id: str
    title: str
    quantity: int
    unit_price: int


@dataclass(frozen=True)
class OrderIn:
    buyer_id: str
    seller_id: str
    amount: int
    currency: str
    status: str
    items: tuple[LineIn, ...]


def _party(session: Session, account_id: str, role: str, field: str) -> Account:
    account = session.get(Account, account_id)
    if account is None or account.role != role:
        raise ValidationFailed(
            f"{field} must name a {role} account", details={field: [f"no {role} {account_id}"]}
        )
    return account


def _validate(session: Session, order_in: OrderIn) -> None:
    _party(session, order_in.buyer_id, BUYER, "buyer_id")
    _party(session, order_in.seller_id, SELLER, "seller_id")
    if len(order_in.items) > MAX_ORDER_LINES:
        raise ValidationFailed(
            f"an order has at most {MAX_ORDER_LINES} lines",
            details={"items": [f"at most {MAX_ORDER_LINES} lines"]},
        )
    listings = [line.listing_id for line in order_in.items]
    if len(set(listings)) != len(listings):
        raise ValidationFailed(
            "an order lists each listing once", details={"items": ["duplicate listing_id"]}
        )
    lines_total = sum(line.quantity * line.unit_price for line in order_in.items)
    if lines_total > order_in.amount:
        raise ValidationFailed(
            "the order lines are worth more than the order",
            details={"items": [f"lines total {lines_total} exceeds amount {order_in.amount}"]},
        )


def put_order(
    session: Session, *, caller: Caller, order_id: str, order_in: OrderIn, at: datetime
) -> tuple[Order, bool]:
    """Register or update an order snapshot; returns (order, created)."""
    if caller.role != PLATFORM or caller.via is not None:
        raise Forbidden("only the platform registers orders")
    check_external_id(order_id, "order_id")
    _validate(session, order_in)
    order = session.get(Order, order_id)
    created = order is None
    if order is None:
        order = Order(id=order_id, refunded_amount=0, created_at=at)
        session.add(order)
    else:
        _check_update_keeps_disputes_valid(session, order, order_in)
    order.buyer_id = order_in.buyer_id
    order.seller_id = order_in.seller_id
    order.amount = order_in.amount
    order.currency = order_in.currency
    order.status = order_in.status
    order.updated_at = at
    if order.items:
        # Delete the old lines before inserting the new: (order_id, listing_id) is unique.
        order.items.clear()
        session.flush()
    order.items = [
        OrderItem(
            position=position,
            listing_id=line.listing_id,
            title=line.title,
            quantity=line.quantity,
            unit_price=line.unit_price,
        )
        for position, line in enumerate(order_in.items)
    ]
    session.flush()
    return order, created


def _check_update_keeps_disputes_valid(session: Session, order: Order, order_in: OrderIn) -> None:
    disputed = session.scalar(select(exists().where(Dispute.order_id == order.id)))
    if not disputed:
        return
    changed = [
        field
        for field in ("buyer_id", "seller_id", "currency")
        if getattr(order, field) != getattr(order_in, field)
    ]
    if changed:
        raise ValidationFailed(
            "a disputed order keeps its parties and currency",
            details={field: ["cannot change once the order is disputed"] for field in changed},
        )
    open_claim = (
        session.scalar(select(Dispute.amount).where(Dispute.open_order_id == order.id)) or 0
    )
    floor = order.refunded_amount + open_claim
    if order_in.amount < floor:
        raise ValidationFailed(
            "the amount cannot drop below what was refunded and what is claimed",
            details={
                "amount": [
                    f"at least {floor}: {order.refunded_amount} refunded, {open_claim} claimed"
                ]
            },
        )


def get_order(session: Session, *, caller: Caller, order_id: str) -> Order:
    """Parties see their own orders; the platform and staff see all."""
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(f"no order {order_id}")
    if caller.role in PARTY_ROLES and caller.id not in (order.buyer_id, order.seller_id):
        raise NotFound(f"no order {order_id}")
    return order


# An order as a dispute is judged against it -------------------------------------------------------


class Line(Protocol):
    """An order line as a refund's cap reads it (an ``OrderItem``, or a ``LineTerms``)."""

    @property
    def listing_id(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def unit_price(self) -> int: ...


class Terms(Protocol):
    """An order as a refund's cap reads it (an ``Order``, or an ``OrderTerms``)."""

    @property
    def id(self) -> str: ...
    @property
    def amount(self) -> int: ...
    @property
    def refunded_amount(self) -> int: ...
    @property
    def items(self) -> Sequence[Line]: ...


@dataclass(frozen=True)
class LineTerms:
    listing_id: str
    quantity: int
    unit_price: int


@dataclass(frozen=True)
class OrderTerms:
    """The order's values a filing needs, read as plain rows (no ORM object to track)."""

    id: str
    buyer_id: str
    seller_id: str
    amount: int
    refunded_amount: int
    currency: str
    status: str
    items: tuple[LineTerms, ...]

    @property
    def shipped(self) -> bool:
        return self.status in SHIPPED_STATUSES


# Built once: the order and its lines (in their order) in one statement. ``OF orders`` locks the
# order alone on PostgreSQL, which refuses to lock the nullable side of an outer join.
_LOCK_ORDER_WITH_LINES = prepared(
    select(
        Order.id,
        Order.buyer_id,
        Order.seller_id,
        Order.amount,
        Order.refunded_amount,
        Order.currency,
        Order.status,
        OrderItem.listing_id,
        OrderItem.quantity,
        OrderItem.unit_price,
    )
    .outerjoin(OrderItem, OrderItem.order_id == Order.id)
    .where(Order.id == bindparam("order_id"))
    .order_by(OrderItem.position)
    .with_for_update(of=Order)
)


def lock_order_terms(session: Session, order_id: str) -> OrderTerms | None:
    """The order with its lines, locked against concurrent filings (PostgreSQL; SQLite's BEGIN
    IMMEDIATE already serialises writers); None if there is no such order."""
    return lock_order_terms_then(session, order_id)[0]


def lock_order_terms_then(
    session: Session,
    order_id: str,
    then: tuple[Executable, dict[str, Any]] | None = None,
) -> tuple[OrderTerms | None, Ran | None]:
    """``lock_order_terms``, and the result of ``then``, a statement run after the lock is taken
    (on its own snapshot, so it sees whatever the lock waited for): on PostgreSQL in the same
    round trip."""
    runs: list[tuple[Executable, dict[str, Any] | None]] = [
        (_LOCK_ORDER_WITH_LINES, {"order_id": order_id})
    ]
    if then is not None:
        runs.append(then)
    locked, *after = execute_core_together(session, runs)
    return _order_terms(locked.all()), (after[0] if after else None)


def _order_terms(rows: Sequence[Any]) -> OrderTerms | None:
    if not rows:
        return None
    id_, buyer_id, seller_id, amount, refunded_amount, currency, status = rows[0][:7]
    return OrderTerms(
        id=id_,
        buyer_id=buyer_id,
        seller_id=seller_id,
        amount=amount,
        refunded_amount=refunded_amount,
        currency=currency,
        status=status,
        items=tuple(LineTerms(row[7], row[8], row[9]) for row in rows if row[7] is not None),
    )
