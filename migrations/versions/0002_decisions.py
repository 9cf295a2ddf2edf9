"""decisions, refunds keyed by what ordered them, queue order, account links, one spelling of actions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import arbitration.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# 0001 left the refunds' unique constraint on dispute_id unnamed; these name it for dropping.
SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
OLD_UNIQUE = {"sqlite": "uq_refunds_dispute_id", "postgresql": "refunds_dispute_id_key"}


def upgrade() -> None:
    op.create_table(
        "account_links",
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("related_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", arbitration.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("staff_id", "related_id"),
    )
    with op.batch_alter_table("account_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_account_links_related_id"), ["related_id"], unique=False
        )

    op.create_table(
        "decisions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("dispute_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("replaces_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("refund_amount", sa.BigInteger(), nullable=False),
        sa.Column("return_required", sa.Boolean(), nullable=False),
        sa.Column("return_shipping_paid_by", sa.String(length=16), nullable=True),
        sa.Column("responsibility", sa.String(length=16), nullable=False),
        sa.Column("violation", sa.String(length=64), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("arbitrator_id", sa.String(length=64), nullable=False),
        sa.Column("decided_at", arbitration.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["arbitrator_id"], ["accounts.id"]),
        sa.ForeignKeyConstraint(["dispute_id"], ["disputes.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_decisions_arbitrator", ["arbitrator_id", "decided_at"], unique=False
        )
        batch_op.create_index("ix_decisions_dispute", ["dispute_id", "decided_at"], unique=False)

    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("sla_due_at", arbitration.db.UTCDateTime(timezone=True), nullable=True)
        )

    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("refunds", schema=None, naming_convention=SQLITE_NAMES) as batch_op:
        batch_op.drop_constraint(OLD_UNIQUE.get(dialect, OLD_UNIQUE["postgresql"]), type_="unique")
        # Every refund so far was instructed by the parties' agreement (or a silent party).
        batch_op.add_column(
            sa.Column(
                "ordered_by", sa.String(length=64), nullable=False, server_default="agreement"
            )
        )
        batch_op.create_index(batch_op.f("ix_refunds_dispute_id"), ["dispute_id"], unique=False)
        batch_op.create_unique_constraint(
            "uq_refunds_dispute_ordered_by", ["dispute_id", "ordered_by"]
        )

    # Actions have one spelling, the wire's: close-evidence, not close_evidence.
    for table, column in (("deadlines", "action"), ("disputes", "deadline_action")):
        op.execute(f"UPDATE {table} SET {column} = REPLACE({column}, '_', '-')")
    # A dispute waiting for a ruling is ordered in the queue by when its SLA runs out.
    op.execute(
        "UPDATE disputes SET sla_due_at = (SELECT MIN(due_at) FROM deadlines"
        " WHERE deadlines.dispute_id = disputes.id AND deadlines.action = 'sla-breach'"
        " AND deadlines.status = 'pending')"
    )


def downgrade() -> None:
    for table, column in (("deadlines", "action"), ("disputes", "deadline_action")):
        op.execute(f"UPDATE {table} SET {column} = REPLACE({column}, '-', '_')")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_constraint("uq_refunds_dispute_ordered_by", type_="unique")
        batch_op.drop_index(batch_op.f("ix_refunds_dispute_id"))
        batch_op.drop_column("ordered_by")
        batch_op.create_unique_constraint("refunds_dispute_id_key", ["dispute_id"])
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_column("sla_due_at")
        batch_op.drop_column("decision_id")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_decisions_dispute")
        batch_op.drop_index("ix_decisions_arbitrator")
    op.drop_table("decisions")
    with op.batch_alter_table("account_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_links_related_id"))
    op.drop_table("account_links")
