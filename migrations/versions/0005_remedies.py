"""remedies beyond money (exchange, repair, reship), offers of another remedy or a compensation, and
the compensations instructed to the platform (DESIGN section 1a)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
