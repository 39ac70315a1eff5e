"""routing: workspace routing settings, agent loads and the assignment history

Revision ID: 0006_routing
Revises: 0005_merge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import threadline.adapters.db.types

revision = "0006_routing"
down_revision = "0005_merge"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _moment(name: str, nullable: bool) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name, threadline.adapters.db.types.UTCDateTime(timezone=True), nullable=nullable
    )


def _json(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, threadline.adapters.db.types.JSONType, nullable=False)


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=f"fk_{table}_workspace_id_workspaces",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "routing_settings",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        _json("weights"),
        _moment("updated_at", False),
        _workspace_fk("routing_settings"),
        sa.PrimaryKeyConstraint("workspace_id", name="pk_routing_settings"),
    )
    op.create_table(
        "agent_loads",
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("load", sa.Integer(), nullable=False),
        _json("open_work"),
        sa.Column("version", sa.BigInteger(), nullable=False),
        _moment("updated_at", False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name="fk_agent_loads_agent_id_agents", ondelete="CASCADE"
        ),
        _workspace_fk("agent_loads"),
        sa.PrimaryKeyConstraint("agent_id", name="pk_agent_loads"),
    )
    op.create_index("ix_agent_loads_workspace_id", "agent_loads", ["workspace_id"])
    op.create_table(
        "assignments",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("cost", sa.Integer(), nullable=False),
        _moment("assigned_at", False),
        _moment("released_at", True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_assignments_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name="fk_assignments_agent_id_agents", ondelete="CASCADE"
        ),
        _workspace_fk("assignments"),
        sa.PrimaryKeyConstraint("id", name="pk_assignments"),
    )
    op.create_index("ix_assignments_workspace_id", "assignments", ["workspace_id"])
    op.create_index("ix_assignments_conversation_id", "assignments", ["conversation_id"])
    op.create_index("ix_assignments_agent_released", "assignments", ["agent_id", "released_at"])
    op.create_index(
        "uq_assignments_active_conversation",
        "assignments",
        ["conversation_id"],
        unique=True,
        postgresql_where=sa.text("released_at IS NULL"),
        sqlite_where=sa.text("released_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("assignments")
    op.drop_table("agent_loads")
    op.drop_table("routing_settings")
