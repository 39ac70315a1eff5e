"""routing: agents waiting to be filled from the queue, and an index of the waiting work

`routing_fill_requests` holds one row per agent whose room should be filled from the queue
(they came online or freed capacity); a fill pass takes the rows it can lock and deletes them
in the transaction that assigns the work, so a request survives a crash until it is served.

Revision ID: 0010_routing_fill
Revises: 0009_web_chat
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import threadline.adapters.db.types

revision = "0010_routing_fill"
down_revision = "0009_web_chat"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WAITING = "status = 'open' AND assignee_id IS NULL"


def upgrade() -> None:
    op.create_table(
        "routing_fill_requests",
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column(
            "requested_at",
            threadline.adapters.db.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name="fk_routing_fill_requests_agent_id_agents",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_routing_fill_requests_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", name="pk_routing_fill_requests"),
    )
    op.create_index(
        "ix_routing_fill_requests_workspace_id", "routing_fill_requests", ["workspace_id"]
    )
    op.create_index(
        "ix_conversations_waiting",
        "conversations",
        ["workspace_id", "priority", "last_inbound_at", "id"],
        postgresql_where=sa.text(WAITING),
        sqlite_where=sa.text(WAITING),
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_waiting", table_name="conversations")
    op.drop_index("ix_routing_fill_requests_workspace_id", table_name="routing_fill_requests")
    op.drop_table("routing_fill_requests")
