"""indexes whose order is the lists' own (newest first, by id), so a list's page is an index walk
that stops at its end however long the history: a seller's disputes in one state, every dispute
in one state, the webhook deliveries by endpoint and by status, the penalties by status and a
seller's in force; the deliveries' unused (endpoint, created_at) and the penalties' by creation
time go (ids sort by creation time)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# (name, table, columns) of the indexes this revision adds; and of those it drops.
ADDED = [
    ("ix_disputes_seller_status", "disputes", ["seller_id", "status", "id"]),
    ("ix_disputes_status_id", "disputes", ["status", "id"]),
    ("ix_webhook_deliveries_endpoint_id", "webhook_deliveries", ["endpoint_id", "id"]),
    ("ix_webhook_deliveries_status_id", "webhook_deliveries", ["status", "id"]),
    ("ix_penalties_seller_status_id", "penalties", ["seller_id", "status", "id"]),
    ("ix_penalties_status_id", "penalties", ["status", "id"]),
]
DROPPED = [
    ("ix_webhook_deliveries_endpoint_created", "webhook_deliveries", ["endpoint_id", "created_at"]),
    ("ix_penalties_seller_status", "penalties", ["seller_id", "status"]),
    ("ix_penalties_status_created", "penalties", ["status", "created_at"]),
]


def upgrade() -> None:
    for name, table, columns in ADDED:
        op.create_index(name, table, columns)
    for name, table, _columns in DROPPED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, columns in DROPPED:
        op.create_index(name, table, columns)
    for name, table, _columns in ADDED:
        op.drop_index(name, table_name=table)
