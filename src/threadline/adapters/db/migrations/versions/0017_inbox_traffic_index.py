"""messages by inbox and time: the console's channel list shows each inbox's latest traffic

Revision ID: 0017_inbox_traffic_index
Revises: 0016_sign_up_links
"""

from __future__ import annotations

from alembic import op

revision = "0017_inbox_traffic_index"
down_revision = "0016_sign_up_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_inbox_created", "messages", ["inbox_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_inbox_created", table_name="messages")
