"""wait estimates per channel: the recent finished assignments of one channel, by one index

A waiting customer's estimated wait is read from the handling times of the latest finished
assignments of the same channel (routing/queries.py), on every widget status poll.

Revision ID: 0014_assignment_channel_index
Revises: 0013_outbound_in_doubt
"""

from __future__ import annotations

from alembic import op

revision = "0014_assignment_channel_index"
down_revision = "0013_outbound_in_doubt"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_assignments_ws_channel_released",
        "assignments",
        ["workspace_id", "channel", "released_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_assignments_ws_channel_released", table_name="assignments")
