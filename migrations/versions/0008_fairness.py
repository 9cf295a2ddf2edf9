"""who funds a refund, recoveries from sellers, and the buyer ledger (DESIGN section 5a)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import arbitration.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        # Every refund instructed before advance compensation was the seller's to pay.
        batch_op.add_column(
            sa.Column("funded_by", sa.String(length=16), nullable=False, server_default="seller")
        )
    with op.batch_alter_table("compensations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("funded_by", sa.String(length=16), nullable=False, server_default="seller")
        )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buyer_violation", sa.String(length=64), nullable=True))

    op.create_table(
        "recoveries",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("dispute_id", sa.String(length=64), nullable=False),
        sa.Column("refund_id", sa.String(length=64), nullable=True),
        sa.Column("compensation_id", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", arbitration.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", arbitration.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("overdue_since", arbitration.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", arbitration.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["dispute_id"], ["disputes.id"]),
        sa.ForeignKeyConstraint(["refund_id"], ["refunds.id"]),
        sa.ForeignKeyConstraint(["compensation_id"], ["compensations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("refund_id", name="uq_recoveries_refund"),
        sa.UniqueConstraint("compensation_id", name="uq_recoveries_compensation"),
    )
    with op.batch_alter_table("recoveries", schema=None) as batch_op:
        batch_op.create_index("ix_recoveries_seller_status", ["seller_id", "status"], unique=False)

    op.create_table(
        "buyer_violations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("buyer_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.String(length=64), nullable=True),
        sa.Column("decision_id", sa.String(length=64), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", arbitration.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", arbitration.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("decision_id", name="uq_buyer_violations_decision"),
    )
    with op.batch_alter_table("buyer_violations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_buyer_violations_buyer_recorded", ["buyer_id", "recorded_at"], unique=False
        )

    op.create_table(
        "buyer_standings",
        sa.Column("buyer_id", sa.String(length=64), nullable=False),
        sa.Column("review_status", sa.String(length=16), nullable=False),
        sa.Column("flagged_at", arbitration.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("counts_from", arbitration.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", arbitration.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("updated_at", arbitration.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("buyer_id"),
    )


def downgrade() -> None:
    op.drop_table("buyer_standings")
    with op.batch_alter_table("buyer_violations", schema=None) as batch_op:
        batch_op.drop_index("ix_buyer_violations_buyer_recorded")
    op.drop_table("buyer_violations")
    with op.batch_alter_table("recoveries", schema=None) as batch_op:
        batch_op.drop_index("ix_recoveries_seller_status")
    op.drop_table("recoveries")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("buyer_violation")
    with op.batch_alter_table("compensations", schema=None) as batch_op:
        batch_op.drop_column("funded_by")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_column("funded_by")
