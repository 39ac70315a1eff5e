"""web chat: widget settings, visitor sessions and invitations

Revision ID: 0009_web_chat
Revises: 0008_agent_content
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0009_web_chat"
down_revision = "0008_agent_content"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
