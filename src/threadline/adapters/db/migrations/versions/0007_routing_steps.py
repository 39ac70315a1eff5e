"""routing: sticky waits, skill relaxation, overflow, offers and transfers

Revision ID: 0007_routing_steps
Revises: 0006_routing
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0007_routing_steps"
down_revision = "0006_routing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
