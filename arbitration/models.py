"""The engine's tables as typed SQLAlchemy models. Behaviour lives in the use-case modules, not here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from arbitration.classification import NORMAL_RANK, priority_rank
from arbitration.db import Base, UTCDateTime

ID = String(64)


class Account(Base):
    """A buyer or seller (ids chosen by the marketplace), a staff member, or the platform itself."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token, stored only as its SHA-256 so a leaked database leaks no credentials."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Order(Base):
    """The marketplace's order as it last told us: the snapshot a dispute is judged against."""

    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    seller_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", order_by="OrderItem.position", cascade="all, delete-orphan"
    )

    @property
    def shipped(self) -> bool:
        return self.status in ("shipped", "delivered")


class OrderItem(Base):
    __tablename__ = "order_items"
    __table_args__ = (UniqueConstraint("order_id", "listing_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    position: Mapped[int] = mapped_column(Integer)
    listing_id: Mapped[str] = mapped_column(ID)
    title: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)

    order: Mapped[Order] = relationship(back_populates="items")


class Dispute(Base):
    """One refund dispute. ``status`` changes only through the lifecycle table, by compare-and-set."""

    __tablename__ = "disputes"
    __table_args__ = (
        # A party's own disputes, newest first (``list_disputes``); a seller's in one state (an
        # inbox of what waits on them, among a history of closed ones); every dispute in one
        # state, newest first (staff's ``?status=``, the public decisions): index walks that stop
        # at the page's end, however long the history.
        Index("ix_disputes_buyer_created", "buyer_id", "id"),
        Index("ix_disputes_seller_created", "seller_id", "id"),
        Index("ix_disputes_seller_status", "seller_id", "status", "id"),
        Index("ix_disputes_status_id", "status", "id"),
        # The queue's order within a state (arbitration/queue.py): its first page is an index walk.
        # It also serves every other look-up by status (its first column).
        Index("ix_disputes_queue", "status", "priority_rank", "sla_due_at", "id"),
        # The same order for the few cases past twice their SLA (the seniors' view).
        Index(
            "ix_disputes_escalated",
            "status",
            "priority_rank",
            "sla_due_at",
            "id",
            sqlite_where=text("senior_escalated_at IS NOT NULL"),
            postgresql_where=text("senior_escalated_at IS NOT NULL"),
        ),
        # The same order for one arbitrator's own cases (``assigned=mine``), a few among many,
        # and for the unassigned ones (``IS NULL``: the claim's walk), so not a partial index.
        Index(
            "ix_disputes_queue_assigned",
            "assigned_arbitrator_id",
            "status",
            "priority_rank",
            "sla_due_at",
            "id",
        ),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    # Equals order_id while the dispute is open, NULL once closed: a unique index on it is the
    # last line of defence behind "one open dispute per order".
    open_order_id: Mapped[str | None] = mapped_column(ID, unique=True, nullable=True)
    buyer_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    seller_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))

    status: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    reason: Mapped[str] = mapped_column(String(32))
    remedy: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    refund_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Filed without naming lines: capped by what is left of the order, not by the lines' value.
    whole_order: Mapped[bool] = mapped_column(Boolean, default=True)

    category: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))
    # Derived from ``priority`` and only from it (``_rank_follows_priority``): an index can serve it.
    # The server default (normal) is only for rows written around the ORM; see migration 0009.
    priority_rank: Mapped[int] = mapped_column(Integer, server_default=str(NORMAL_RANK))
    scope: Mapped[str] = mapped_column(String(16), default="single")
    systemic: Mapped[bool] = mapped_column(Boolean, default=False)

    deadline_action: Mapped[str | None] = mapped_column(String(32), nullable=True)
    deadline_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    buyer_extension_used: Mapped[bool] = mapped_column(Boolean, default=False)
    seller_extension_used: Mapped[bool] = mapped_column(Boolean, default=False)
    buyer_evidence_done: Mapped[bool] = mapped_column(Boolean, default=False)
    seller_evidence_done: Mapped[bool] = mapped_column(Boolean, default=False)
    buyer_info_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    seller_info_requested: Mapped[bool] = mapped_column(Boolean, default=False)

    return_carrier: Mapped[str | None] = mapped_column(String(100), nullable=True)
    return_tracking_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    return_shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    # Remedies beyond money (DESIGN §1a): the goods the seller sends, and a repair's promised date.
    fulfilment_carrier: Mapped[str | None] = mapped_column(String(100), nullable=True)
    fulfilment_tracking_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    fulfilment_shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    repair_ready_by: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    pending_offer_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    assigned_arbitrator_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    first_arbitrator_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    appealed_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # The party a ruling fully favoured, who therefore may not appeal it.
    ruling_favours: Mapped[str | None] = mapped_column(String(16), nullable=True)

    # The head of the audit chain: a deleted tail of events shows as a mismatch (audit.verify_chains).
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    last_event_hash: Mapped[str] = mapped_column(String(64), default="0" * 64)

    # The ruling in force (a row of ``decisions``): the arbitrator's, or the appeal's replacement.
    decision_id: Mapped[str | None] = mapped_column(ID, nullable=True)

    # SLA (DESIGN §4): when a ruling is due orders the queue; the flags raise the case in it.
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sla_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    senior_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    items: Mapped[list[DisputeItem]] = relationship(
        order_by="DisputeItem.listing_id", cascade="all, delete-orphan"
    )
    order: Mapped[Order] = relationship()

    @validates("priority")
    def _rank_follows_priority(self, _key: str, priority: str) -> str:
        """Whoever sets the priority (filing, a modification) sets the queue's rank with it."""
        self.priority_rank = priority_rank(priority)
        return priority


class DisputeItem(Base):
    """An order line a dispute is about; indexed by listing to spot batches of the same complaint."""

    __tablename__ = "dispute_items"

    dispute_id: Mapped[str] = mapped_column(ForeignKey("disputes.id"), primary_key=True)
    listing_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    value: Mapped[int] = mapped_column(BigInteger)


class Offer(Base):
    """A seller's proposal: a partial refund (``kind`` refund), another remedy, or a compensation
    (DESIGN §1a); a newer offer supersedes the pending one. ``amount`` is the partial refund or the
    compensation's value, 0 for a remedy."""

    __tablename__ = "offers"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    dispute_id: Mapped[str] = mapped_column(ForeignKey("disputes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="refund", server_default="refund")
    remedy: Mapped[str | None] = mapped_column(String(32), nullable=True)
    compensation_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))  # pending, accepted, superseded, lapsed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Refund(Base):
    """A refund the engine instructs, the exact amount, once per reason to pay.

    ``ordered_by`` is what ordered it: ``agreement`` (the parties settled, or the system acted for
    a silent party) or the id of the decision. A unique constraint on (dispute, ordered_by) is the
    last line of defence: one refund per dispute from the parties, one per ruling.
    """

    __tablename__ = "refunds"
    __table_args__ = (
        UniqueConstraint("dispute_id", "ordered_by", name="uq_refunds_dispute_ordered_by"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    # Looked up through uq_refunds_dispute_ordered_by, which starts with it; never by order_id
    # (no query, and an order is never deleted), so neither has an index of its own.
    dispute_id: Mapped[str] = mapped_column(ForeignKey("disputes.id"))
    ordered_by: Mapped[str] = mapped_column(ID)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    instructed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    overdue_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Who pays it (DESIGN §5a): the seller, or the platform first (then a recovery is opened).
    funded_by: Mapped[str] = mapped_column(String(16), default="seller")


class Recovery(Base):
    """What a seller owes the platform for a refund or a compensation it paid first (DESIGN §5a,
    先行赔付).

    ``open`` until the platform records it ``recovered`` or trust & safety ``written_off``; an
    open one past ``due_at`` stops the seller selling. One per refund or compensation (unique
    constraints); exactly one of ``refund_id`` and ``compensation_id`` is set.
    """

    __tablename__ = "recoveries"
    __table_args__ = (
        UniqueConstraint("refund_id", name="uq_recoveries_refund"),
        UniqueConstraint("compensation_id", name="uq_recoveries_compensation"),
        Index("ix_recoveries_seller_status", "seller_id", "status"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    seller_id: Mapped[str] = mapped_column(ID)
    dispute_id: Mapped[str] = mapped_column(ForeignKey("disputes.id"))
    refund_id: Mapped[str | None] = mapped_column(ForeignKey("refunds.id"), nullable=True)
    compensation_id: Mapped[str | None] = mapped_column(
        ForeignKey("compensations.id"), nullable=True
    )
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))  # open, recovered, written_off
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    overdue_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(ID, nullable=True)
    close_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class Compensation(Base):
    """A compensation (store credit, a coupon) the engine instructs the platform to grant, like a
    refund: once per what ordered it (the accepted offer's id, a unique constraint), then confirmed
    by the platform. It is not money back on the order: the order's refunded amount is untouched."""

    __tablename__ = "compensations"
    __table_args__ = (
        UniqueConstraint("dispute_id", "ordered_by", name="uq_compensations_dispute_ordered_by"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    dispute_id: Mapped[str] = mapped_column(ForeignKey("disputes.id"), index=True)
    ordered_by: Mapped[str] = mapped_column(ID)
    kind: Mapped[str] = mapped_column(String(16))  # store_credit, coupon
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    instructed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    overdue_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    funded_by: Mapped[str] = mapped_column(String(16), default="seller")  # or platform (§5a)


class Decision(Base):
    """A ruling: the arbitrator's (``kind`` ruling) or a senior's answer to an appeal (``appeal``).

    An appeal that upholds repeats the ruling's terms; one that overturns states the replacement.
    Either way the newest decision of a dispute is the ruling in force (``Dispute.decision_id``).
    """

    __tablename__ = "decisions"
    __table_args__ = (
        # No query looks decisions up by arbitrator (the reports group by it after a range scan).
        Index("ix_decisions_dispute", "dispute_id", "decided_at"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    dispute_id: Mapped[str] = mapped_column(ForeignKey("disputes.id"))
    kind: Mapped[str] = mapped_column(String(16))  # ruling, appeal
    result: Mapped[str | None] = mapped_column(String(16), nullable=True)  # uphold, overturn
    replaces_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    outcome: Mapped[str] = mapped_column(String(32))
    refund_amount: Mapped[int] = mapped_column(BigInteger)
    return_required: Mapped[bool] = mapped_column(Boolean, default=False)
    return_shipping_paid_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    responsibility: Mapped[str] = mapped_column(String(16))
    violation: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The buyer's fault a ruling names (DESIGN §5a), put on the buyer ledger.
    buyer_violation: Mapped[str | None] = mapped_column(String(64), nullable=True)
    rationale: Mapped[str] = mapped_column(Text)
    arbitrator_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A compensation the ruling adds to the money (DESIGN §1a), instructed with it.
    compensation_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    compensation_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    @property
    def compensation(self) -> dict[str, Any] | None:
        if self.compensation_kind is None:
            return None
        return {"kind": self.compensation_kind, "amount": self.compensation_amount}


class AccountLink(Base):
    """A staff member related to a marketplace account (their own, a relative's, a business they
    own): they may not claim or rule on that account's disputes (DESIGN §4)."""

    __tablename__ = "account_links"

    staff_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    related_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Deadline(Base):
    """A pending timed action. The database is the truth; a sweep fires what is due (``sweep``).

    ``action`` is a lifecycle action the system takes (``accept``, ``abandon``…) or a flag
    (``remind``, ``sla_breach``, ``sla_escalate``, ``refund_overdue``).
    """

    __tablename__ = "deadlines"
    __table_args__ = (
        # Only the pending rows, in the sweep's order: a settled row leaves it instead of moving
        # within it. A query uses it only if it says ``status = 'pending'`` as a literal
        # (``deadlines.IS_PENDING``): SQLite and PostgreSQL's generic plans match the text.
        Index(
            "ix_deadlines_pending_due",
            "due_at",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # A dispute's pending rows (cancelled or moved at each of its steps), the same way.
        Index(
            "ix_deadlines_dispute_pending",
            "dispute_id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        # A penalty's or a recovery's own deadlines; a dispute's (most rows) have no subject.
        Index(
            "ix_deadlines_subject",
            "subject_id",
            sqlite_where=text("subject_id IS NOT NULL"),
            postgresql_where=text("subject_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dispute_id: Mapped[str | None] = mapped_column(ForeignKey("disputes.id"), nullable=True)
    # What a deadline that is not a dispute's is about (a penalty's id, for its expiry).
    subject_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    party: Mapped[str | None] = mapped_column(String(16), nullable=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # pending, fired, cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class Event(Base):
    """One link of a dispute's hash chain. Rows are only ever inserted."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("dispute_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dispute_id: Mapped[str] = mapped_column(ForeignKey("disputes.id"))
    seq: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[str] = mapped_column(ID)
    action: Mapped[str] = mapped_column(String(48))
    from_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_status: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # 1: the hash covers the payload as is (events written before personal data could be purged);
    # 2: it covers a SHA-256 of each personal field instead, so purging one keeps the chain whole.
    hash_version: Mapped[int] = mapped_column(Integer, default=2, server_default="1")


class PersonalDataPurge(Base):
    """A closed dispute whose personal data was removed (``arbitration privacy purge``)."""

    __tablename__ = "personal_data_purges"

    dispute_id: Mapped[str] = mapped_column(ForeignKey("disputes.id"), primary_key=True)
    purged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What was removed: names of fields and how many chain events were redacted, never the values.
    removed: Mapped[dict[str, Any]] = mapped_column(JSON)


class IdempotencyRecord(Base):
    """The first response to a caller's ``Idempotency-Key``, claimed in the same transaction as the work."""

    __tablename__ = "idempotency_records"

    account_id: Mapped[str] = mapped_column(ID, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
