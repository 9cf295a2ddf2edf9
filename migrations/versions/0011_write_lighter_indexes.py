"""lighter indexes: fewer b-tree pages written per action (issue 13)

A commit on SQLite writes every page it changed to the WAL, inside the one writer lock; many of
a ruling's pages were index pages changed for rows no query looks for in that index:

- ``ix_deadlines_status_due`` (status, due_at) moved every settled deadline within it. The sweep
  looks only for pending rows: ``ix_deadlines_pending_due`` (due_at, id: the sweep's order) holds
  only those, so a cancelled or fired row leaves it. The look-ups by a penalty's or a recovery's
  id, which read the pending part of the old index, get ``ix_deadlines_subject`` (only the rows
  that have a subject). A dispute's pending rows, cancelled at each of its steps, likewise leave
  ``ix_deadlines_dispute_pending`` (dispute_id) instead of moving within (dispute_id, status).
- ``ix_disputes_status`` (status) repeats the first column of ``ix_disputes_queue``.
- ``ix_refunds_dispute_id`` repeats the first column of ``uq_refunds_dispute_ordered_by``.
- ``ix_decisions_replaces`` is looked up only by a value, so it needs only the rows that have
  one (appeals, not rulings).
- ``ix_decisions_arbitrator`` and ``ix_refunds_order_id`` served no query (the reports group
  rulings by arbitrator after a range scan; nothing reads refunds by order, and neither an
  account nor an order is ever deleted, so no foreign key check reads them either).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_PENDING = sa.text("status = 'pending'")
_HAS_SUBJECT = sa.text("subject_id IS NOT NULL")
_REPLACES = sa.text("replaces_id IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_deadlines_pending_due",
        "deadlines",
        ["due_at", "id"],
        unique=False,
        sqlite_where=_PENDING,
        postgresql_where=_PENDING,
    )
    op.create_index(
        "ix_deadlines_subject",
        "deadlines",
        ["subject_id"],
        unique=False,
        sqlite_where=_HAS_SUBJECT,
        postgresql_where=_HAS_SUBJECT,
    )
    op.create_index(
        "ix_deadlines_dispute_pending",
        "deadlines",
        ["dispute_id"],
        unique=False,
        sqlite_where=_PENDING,
        postgresql_where=_PENDING,
    )
    op.drop_index("ix_deadlines_status_due", table_name="deadlines")
    op.drop_index("ix_deadlines_dispute_status", table_name="deadlines")
    op.drop_index("ix_disputes_status", table_name="disputes")
    op.drop_index("ix_refunds_dispute_id", table_name="refunds")
    op.drop_index("ix_refunds_order_id", table_name="refunds")
    op.drop_index("ix_decisions_arbitrator", table_name="decisions")
    op.drop_index("ix_decisions_replaces", table_name="decisions")
    op.create_index(
        "ix_decisions_replaces",
        "decisions",
        ["replaces_id"],
        unique=False,
        sqlite_where=_REPLACES,
        postgresql_where=_REPLACES,
    )


def downgrade() -> None:
    op.drop_index("ix_decisions_replaces", table_name="decisions")
    op.create_index("ix_decisions_replaces", "decisions", ["replaces_id"], unique=False)
    op.create_index(
        "ix_decisions_arbitrator", "decisions", ["arbitrator_id", "decided_at"], unique=False
    )
    op.create_index("ix_refunds_order_id", "refunds", ["order_id"], unique=False)
    op.create_index("ix_refunds_dispute_id", "refunds", ["dispute_id"], unique=False)
    op.create_index("ix_disputes_status", "disputes", ["status"], unique=False)
    op.create_index("ix_deadlines_status_due", "deadlines", ["status", "due_at"], unique=False)
    op.create_index(
        "ix_deadlines_dispute_status", "deadlines", ["dispute_id", "status"], unique=False
    )
    op.drop_index("ix_deadlines_dispute_pending", table_name="deadlines")
    op.drop_index("ix_deadlines_subject", table_name="deadlines")
    op.drop_index("ix_deadlines_pending_due", table_name="deadlines")
