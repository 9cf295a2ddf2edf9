"""The webhook tables: endpoints, the outbox of events, one delivery per event and endpoint, and
the signed checkpoints of every chain head (DESIGN §7)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from arbitration.db import Base, UTCDateTime

ID = String(64)

# Endpoint statuses.
ACTIVE = "active"
DISABLED = "disabled"

# Delivery statuses: pending until a receiver answers 2xx (delivered) or the retry window ends (dead).
PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"
DELIVERY_STATUSES = (PENDING, DELIVERED, DEAD)


class WebhookEndpoint(Base):
    """A URL of the platform's that receives events, signed with its own secret."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    url: Mapped[str] = mapped_column(String(2000))
    # The event types it wants; None means every event.
    event_types: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    # HMAC needs the secret itself: stored as is, shown to the caller only when created or rotated.
    secret: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # It hears the events after this position, the last one written when it was registered: an
    # endpoint counts from the next change, however long the events before it wait to be fanned
    # out (``outbox.fan_out``). Set by the insert itself, whoever inserts it.
    starts_after: Mapped[int] = mapped_column(
        Integer,
        default=text("(SELECT coalesce(max(position), 0) FROM webhook_events)"),
        server_default="0",
    )


class OutboxEvent(Base):
    """An event for the platform, written in the same transaction as the change it reports.

    ``position`` orders events; ``stream`` names what they are ordered within (``dispute:<id>``,
    ``seller:<id>``, ``audit``): a later event of a stream waits for the earlier ones.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (
        # The events still to fan out, in order: a few, however long the history.
        Index(
            "ix_webhook_events_fanout_pending",
            "position",
            sqlite_where=text("fanout_pending = 1"),
            postgresql_where=text("fanout_pending"),
        ),
    )

    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(ID, unique=True)  # the event id receivers dedupe on
    type: Mapped[str] = mapped_column(String(64))
    stream: Mapped[str] = mapped_column(String(80))
    dispute_id: Mapped[str | None] = mapped_column(ID, nullable=True, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # True until ``outbox.fan_out`` has made its deliveries. (Rows from before revision 0014 were
    # written with theirs: the column's server default, false, is theirs.)
    fanout_pending: Mapped[bool] = mapped_column(Boolean, default=True, server_default=false())


class Delivery(Base):
    """One event to one endpoint: tried until a 2xx answer, with backoff, for ``retry_for``.

    A running attempt holds a lease (``leased_until``) instead of a database lock, so the POST
    happens outside any transaction and a crashed worker's attempt is simply tried again.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_stream", "endpoint_id", "stream", "status", "position"),
        # The list's orders (``service.list_deliveries``, newest first): by endpoint, by status.
        Index("ix_webhook_deliveries_endpoint_id", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_status_id", "status", "id"),
        # An event's deliveries (a dispute's, listed), and never two to one endpoint.
        Index("uq_webhook_deliveries_event_endpoint", "event_position", "endpoint_id", unique=True),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"))
    event_position: Mapped[int] = mapped_column(ForeignKey("webhook_events.position"))
    # Copies of the event's, so the per-stream order is one indexed query.
    position: Mapped[int] = mapped_column(Integer)
    stream: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retry_until: Mapped[datetime] = mapped_column(UTCDateTime)  # undelivered by then: dead
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Checkpoint(Base):
    """A signed statement of every chain head at one moment: history before it can only grow.

    ``document`` is the exact signed text (canonical JSON), kept verbatim so anyone can re-check it.
    """

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    document: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(128))
    key_id: Mapped[str] = mapped_column(String(64))
