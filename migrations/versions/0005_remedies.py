"""remedies beyond money (exchange, repair, reship), offers of another remedy or a compensation, and
the compensations instructed to the platform, a ruling's compensation (DESIGN section 1a)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import arbitration.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compensations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("dispute_id", sa.String(length=64), nullable=False),
        sa.Column("ordered_by", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("instructed_at", arbitration.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", arbitration.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("overdue_since", arbitration.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["dispute_id"], ["disputes.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dispute_id", "ordered_by", name="uq_compensations_dispute_ordered_by"),
    )
    with op.batch_alter_table("compensations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compensations_dispute_id"), ["dispute_id"], unique=False
        )

    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fulfilment_carrier", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("fulfilment_tracking_number", sa.String(length=100), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "fulfilment_shipped_at", arbitration.db.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("repair_ready_by", arbitration.db.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="refund", nullable=False)
        )
        batch_op.add_column(sa.Column("remedy", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("compensation_kind", sa.String(length=16), nullable=True))

    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("compensation_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("compensation_amount", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("compensation_amount")
        batch_op.drop_column("compensation_kind")

    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_column("compensation_kind")
        batch_op.drop_column("remedy")
        batch_op.drop_column("kind")

    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_column("repair_ready_by")
        batch_op.drop_column("fulfilment_shipped_at")
        batch_op.drop_column("fulfilment_tracking_number")
        batch_op.drop_column("fulfilment_carrier")

    with op.batch_alter_table("compensations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compensations_dispute_id"))

    op.drop_table("compensations")
