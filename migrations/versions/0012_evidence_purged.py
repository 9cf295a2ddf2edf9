"""evidence: when the privacy purge removed an item's personal data (and its bytes, once no other
item needs them); the row stays, with its SHA-256, for the audit chain

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import arbitration.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evidence") as table:
        table.add_column(
            sa.Column("purged_at", arbitration.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("evidence") as table:
        table.drop_column("purged_at")
