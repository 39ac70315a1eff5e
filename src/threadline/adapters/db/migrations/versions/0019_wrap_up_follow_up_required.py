"""wrap-up codes that need a follow-up: resolving with one plans the next step too

Revision ID: 0019_wrap_up_follow_up_required
Revises: 0018_audit_log
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_wrap_up_follow_up_required"
down_revision = "0018_audit_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("wrap_up_codes") as table:
        table.add_column(
            sa.Column("follow_up_required", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("wrap_up_codes") as table:
        table.drop_column("follow_up_required")
