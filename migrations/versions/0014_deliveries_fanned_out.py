"""webhook deliveries made by the delivery job, not by the write: an event waits to be fanned out
(``webhook_events.fanout_pending``, with a partial index of those waiting), and an endpoint hears
the events written after its registration (``webhook_endpoints.starts_after``); an event's
deliveries are unique by endpoint (replacing the index by event alone)

Every event already written has its deliveries, so the new column is false for them; every
endpoint already registered heard from the start, so it starts after 0.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "webhook_events",
        sa.Column("fanout_pending", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "ix_webhook_events_fanout_pending",
        "webhook_events",
        ["position"],
        sqlite_where=sa.text("fanout_pending = 1"),
        postgresql_where=sa.text("fanout_pending"),
    )
    op.add_column(
        "webhook_endpoints",
        sa.Column("starts_after", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index(
        "uq_webhook_deliveries_event_endpoint",
        "webhook_deliveries",
        ["event_position", "endpoint_id"],
        unique=True,
    )
    op.drop_index("ix_webhook_deliveries_event_position", table_name="webhook_deliveries")


def downgrade() -> None:
    op.create_index(
        "ix_webhook_deliveries_event_position", "webhook_deliveries", ["event_position"]
    )
    op.drop_index("uq_webhook_deliveries_event_endpoint", table_name="webhook_deliveries")
    # Not a batch (which rebuilds the table on SQLite, and fails once other rows point at it):
    # SQLite drops a column in place since 3.35, once no index holds it.
    op.drop_column("webhook_endpoints", "starts_after")
    op.drop_index("ix_webhook_events_fanout_pending", table_name="webhook_events")
    op.drop_column("webhook_events", "fanout_pending")
