"""web chat: no schema change

The widget needs no table of its own: its settings, public key and invitation rules live in
the web-chat inbox's `settings` JSON and its user-id signing key is the inbox's `secret`;
visitor sessions are signed tokens (no rows), visitors are web_visitor identities, and the
visitor's socket reads the existing event outbox. The revision stays in the chain so the
history is the one every helper planned.

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
