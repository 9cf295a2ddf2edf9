"""report indexes: a period's rulings, refunds and answers by their own time (issue 13)

A report without ``since`` now covers ``reports.default_period`` (30 days), and every query of it
range-scans the disputes' filing time (``ix_disputes_created_at``, revision 0007). What the queries
join (rulings, refunds, satisfaction answers) happened after the filing, so never before the
period's start: the queries say so, and these indexes let the database read those tables as a range
from the start instead of whole (PostgreSQL hash-joined a sequential scan of each, whose cost grew
with the history, not with the period).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index("ix_decisions_decided_at", ["decided_at"], unique=False)
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index("ix_refunds_instructed_at", ["instructed_at"], unique=False)
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index("ix_feedback_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_created_at")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_refunds_instructed_at")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_decisions_decided_at")
