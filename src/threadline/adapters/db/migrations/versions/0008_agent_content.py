"""agent content: canned responses, scripts, product catalogue, mentions

Revision ID: 0008_agent_content
Revises: 0007_routing_steps
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0008_agent_content"
down_revision = "0007_routing_steps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
