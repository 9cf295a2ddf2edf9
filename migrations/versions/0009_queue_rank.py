"""queue rank: the priority stored as an integer, and the index the queue's order walks (issue 13)

The queue ordered by a CASE over the ``priority`` string, which no index serves, so the database
sorted every case awaiting a decision before handing out the first page (255 ms at a million
disputes). ``priority_rank`` is that CASE stored (``arbitration.classification.priority_rank``,
set with the priority by the model), and ``ix_disputes_queue`` is the queue's order within one
state, so a page is a walk of the index on SQLite and PostgreSQL alike;
``ix_disputes_escalated`` (partial) and ``ix_disputes_queue_assigned`` are the same walk for the
seniors' cases past twice their SLA and for an arbitrator's own cases, a few among many.

The column is added NOT NULL with the rank of "normal" as its server default (SQLite can add a
NOT NULL column only with a default, and dropping a default there means rebuilding the table),
then the rows already in the field that are more pressing than normal are backfilled.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The ranks as they were when this revision was written, restated so that a later change to the
# priorities cannot change what this revision does to a database that runs it.
NORMAL_RANK = 2
PRESSING_RANKS = {"urgent": 0, "high": 1}


def upgrade() -> None:
    op.add_column(
        "disputes",
        sa.Column("priority_rank", sa.Integer(), nullable=False, server_default=str(NORMAL_RANK)),
    )
    disputes = sa.table("disputes", sa.column("priority", sa.String), sa.column("priority_rank"))
    op.execute(
        disputes.update()
        .where(disputes.c.priority.in_(list(PRESSING_RANKS)))
        .values(priority_rank=sa.case(PRESSING_RANKS, value=disputes.c.priority, else_=NORMAL_RANK))
    )
    op.create_index(
        "ix_disputes_queue",
        "disputes",
        ["status", "priority_rank", "sla_due_at", "id"],
        unique=False,
    )
    # The cases past twice their SLA (the seniors' view) are a few among many: their own walk.
    op.create_index(
        "ix_disputes_escalated",
        "disputes",
        ["status", "priority_rank", "sla_due_at", "id"],
        unique=False,
        sqlite_where=sa.text("senior_escalated_at IS NOT NULL"),
        postgresql_where=sa.text("senior_escalated_at IS NOT NULL"),
    )
    # An arbitrator's own cases (``assigned=mine``) are a few among many: their own walk.
    op.create_index(
        "ix_disputes_queue_assigned",
        "disputes",
        ["assigned_arbitrator_id", "status", "priority_rank", "sla_due_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_disputes_queue_assigned", table_name="disputes")
    op.drop_index("ix_disputes_escalated", table_name="disputes")
    op.drop_index("ix_disputes_queue", table_name="disputes")
    # Not a batch (which rebuilds the table on SQLite, and fails once other rows point at it):
    # SQLite drops a column in place since 3.35, once no index holds it.
    op.drop_column("disputes", "priority_rank")
