"""routing: agents waiting to be filled from the queue, an index of the waiting work, and
an index of events by conversation

`routing_fill_requests` holds one row per agent whose room should be filled from the queue
(they came online or freed capacity); a fill pass takes the rows it can lock and deletes them
in the transaction that assigns the work, so a request survives a crash until it is served.
`ix_events_conversation_seq` lets a web-chat visitor's back-fill read its own conversations'
events instead of every event of the workspace.

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
    op.create_index("ix_events_conversation_seq", "events", ["conversation_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_events_conversation_seq", table_name="events")
    op.drop_index("ix_conversations_waiting", table_name="conversations")
    op.drop_index("ix_routing_fill_requests_workspace_id", table_name="routing_fill_requests")
    op.drop_table("routing_fill_requests")
