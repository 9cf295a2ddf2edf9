"""The penalties tables: violations, penalties, ladder crossings, per-seller totals and chain.

Violations and penalties are never deleted: a revoked one keeps its row with why and when. The
seller's totals (``SellerStanding``) are kept in the same transaction as every change, so standing
reads a row, not the history. ``SellerEvent`` is the seller's own hash chain (DESIGN §6 style).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from arbitration.db import Base, UTCDateTime

ID = String(64)

# Violation and penalty statuses.
ACTIVE = "active"
REVOKED = "revoked"
PENDING_REVIEW = "pending_review"
EXPIRED = "expired"
REJECTED = "rejected"
PENALTY_STATUSES = (PENDING_REVIEW, ACTIVE, EXPIRED, REVOKED, REJECTED)

# Where a violation comes from: a ruling that named it, or trust & safety confirming one.
FROM_RULING = "ruling"
FROM_TRUST_SAFETY = "trust_safety"
# The system, for a seller who let a fulfilment deadline pass (DESIGN §1a).
FROM_SYSTEM = "system"


class Violation(Base):
    __tablename__ = "seller_violations"
    __table_args__ = (
        Index("ix_seller_violations_seller_recorded", "seller_id", "recorded_at"),
        # One violation per ruling: a replayed or duplicated event records nothing twice.
        UniqueConstraint("decision_id", name="uq_seller_violations_decision"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    seller_id: Mapped[str] = mapped_column(ID)
    kind: Mapped[str] = mapped_column(String(64))
    ledger: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    dispute_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    decision_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    recorded_by: Mapped[str] = mapped_column(ID)
    rules_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class Penalty(Base):
    __tablename__ = "penalties"
    __table_args__ = (
        # Newest first by id (ids sort by creation time): a list by status, a seller's in force.
        Index("ix_penalties_seller_status_id", "seller_id", "status", "id"),
        Index("ix_penalties_status_id", "status", "id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    seller_id: Mapped[str] = mapped_column(ID)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    # The crossing that made it (None for a warning given outside the ladder).
    ledger: Mapped[str | None] = mapped_column(String(16), nullable=True)
    threshold: Mapped[int | None] = mapped_column(Integer, nullable=True)
    period: Mapped[str | None] = mapped_column(String(16), nullable=True)
    points_at_crossing: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The violations counted when the threshold was crossed, the last one the trigger.
    violation_ids: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    rules_version: Mapped[str] = mapped_column(String(64))
    duration_seconds: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(ID, nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    appeal_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    appeal_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    appealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    appeal_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    appeal_rationale: Mapped[str | None] = mapped_column(Text, nullable=True)


class LadderCrossing(Base):
    """A threshold a seller's ledger crossed in a period: its primary key makes each crossing once."""

    __tablename__ = "ladder_crossings"

    seller_id: Mapped[str] = mapped_column(ID, primary_key=True)
    ledger: Mapped[str] = mapped_column(String(16), primary_key=True)
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    points: Mapped[int] = mapped_column(Integer, primary_key=True)
    crossed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SellerStanding(Base):
    """A seller's running totals for the current period and the head of their hash chain.

    The row is locked by every change to the seller's ledger, which serialises the ladder.
    """

    __tablename__ = "seller_standings"

    seller_id: Mapped[str] = mapped_column(ID, primary_key=True)
    period: Mapped[str] = mapped_column(String(16))
    general_points: Mapped[int] = mapped_column(Integer, default=0)
    severe_points: Mapped[int] = mapped_column(Integer, default=0)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    last_event_hash: Mapped[str] = mapped_column(String(64), default="0" * 64)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SellerEvent(Base):
    """One link of a seller's hash chain: violations, penalties and every review of them."""

    __tablename__ = "seller_events"
    __table_args__ = (UniqueConstraint("seller_id", "seq", name="uq_seller_events_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seller_id: Mapped[str] = mapped_column(ID)
    seq: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[str] = mapped_column(ID)
    action: Mapped[str] = mapped_column(String(48))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# The buyer ledger (DESIGN §5a) -------------------------------------------------------------------

# A buyer's review flag: clear, raised by the ledger's threshold, or confirmed by trust & safety.
CLEAR = "clear"
UNDER_REVIEW = "under_review"
CONFIRMED = "confirmed"
BUYER_REVIEW_STATUSES = (CLEAR, UNDER_REVIEW, CONFIRMED)


class BuyerViolation(Base):
    """A buyer's fault a ruling named (``unjustified_claim``…), with the points the policy gave it."""

    __tablename__ = "buyer_violations"
    __table_args__ = (
        Index("ix_buyer_violations_buyer_recorded", "buyer_id", "recorded_at"),
        UniqueConstraint("decision_id", name="uq_buyer_violations_decision"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    buyer_id: Mapped[str] = mapped_column(ID)
    kind: Mapped[str] = mapped_column(String(64))
    points: Mapped[int] = mapped_column(Integer)
    dispute_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    decision_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    recorded_by: Mapped[str] = mapped_column(ID)
    status: Mapped[str] = mapped_column(String(16))  # active, revoked
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class BuyerStanding(Base):
    """A buyer's review flag; the row is locked by every change to the buyer's ledger.

    ``counts_from`` is when the last lift happened: only points recorded after it can raise the
    flag again, so a lifted buyer starts afresh.
    """

    __tablename__ = "buyer_standings"

    buyer_id: Mapped[str] = mapped_column(ID, primary_key=True)
    review_status: Mapped[str] = mapped_column(String(16))
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    counts_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(ID, nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
