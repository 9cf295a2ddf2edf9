"""penalties: violations, penalties, ladder crossings, seller standings and chains; deadlines
that are about something other than a dispute (a penalty's expiry) name it in subject_id

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import arbitration.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ladder_crossings",
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("ledger", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("crossed_at", arbitration.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seller_id", "ledger", "period", "points"),
    )
    op.create_table(
        "penalties",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ledger", sa.String(length=16), nullable=True),
        sa.Column("threshold", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=16), nullable=True),
        sa.Column("points_at_crossing", sa.Integer(), nullable=True),
        sa.Column("violation_ids", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.Column("duration_seconds", sa.BigInteger(), nullable=True),
        sa.Column("created_at", arbitration.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("starts_at", arbitration.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", arbitration.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", arbitration.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("revoked_at", arbitration.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.Column("appeal_status", sa.String(length=16), nullable=True),
        sa.Column("appeal_reason", sa.Text(), nullable=True),
        sa.Column("appealed_at", arbitration.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("appeal_decided_at", arbitration.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("appeal_rationale", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("penalties", schema=None) as batch_op:
        batch_op.create_index("ix_penalties_seller_status", ["seller_id", "status"], unique=False)
        batch_op.create_index("ix_penalties_status_created", ["status", "created_at"], unique=False)

    op.create_table(
        "seller_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("occurred_at", arbitration.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seller_id", "seq", name="uq_seller_events_seq"),
    )
    op.create_table(
        "seller_standings",
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("general_points", sa.Integer(), nullable=False),
        sa.Column("severe_points", sa.Integer(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("last_event_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", arbitration.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seller_id"),
    )
    op.create_table(
        "seller_violations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("ledger", sa.String(length=16), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("dispute_id", sa.String(length=64), nullable=True),
        sa.Column("decision_id", sa.String(length=64), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("rules_version", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", arbitration.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", arbitration.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("decision_id", name="uq_seller_violations_decision"),
    )
    with op.batch_alter_table("seller_violations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_seller_violations_seller_recorded", ["seller_id", "recorded_at"], unique=False
        )

    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.drop_column("subject_id")

    with op.batch_alter_table("seller_violations", schema=None) as batch_op:
        batch_op.drop_index("ix_seller_violations_seller_recorded")

    op.drop_table("seller_violations")
    op.drop_table("seller_standings")
    op.drop_table("seller_events")
    with op.batch_alter_table("penalties", schema=None) as batch_op:
        batch_op.drop_index("ix_penalties_status_created")
        batch_op.drop_index("ix_penalties_seller_status")

    op.drop_table("penalties")
    op.drop_table("ladder_crossings")
