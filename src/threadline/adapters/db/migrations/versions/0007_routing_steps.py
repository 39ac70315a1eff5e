"""routing: sticky waits, skill relaxation, overflow, offers and transfers

Revision ID: 0007_routing_steps
Revises: 0006_routing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import threadline.adapters.db.types

revision = "0007_routing_steps"
down_revision = "0006_routing"
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
    with op.batch_alter_table("routing_settings") as batch:
        batch.add_column(
            sa.Column(
                "steps",
                threadline.adapters.db.types.JSONType,
                nullable=False,
                server_default=sa.text("'{}'"),
            )
        )
    with op.batch_alter_table("agent_loads") as batch:
        batch.add_column(
            sa.Column("missed_offers", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "team_routing",
        sa.Column("team_id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        _json("capacity"),
        _json("steps"),
        _moment("updated_at", False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name="fk_team_routing_team_id_teams", ondelete="CASCADE"
        ),
        _workspace_fk("team_routing"),
        sa.PrimaryKeyConstraint("team_id", name="pk_team_routing"),
    )
    op.create_index("ix_team_routing_workspace_id", "team_routing", ["workspace_id"])
    op.create_table(
        "routing_progress",
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("relax_level", sa.Integer(), nullable=False),
        sa.Column("sticky_agent_id", sa.BigInteger(), nullable=True),
        _moment("sticky_until", True),
        sa.Column("sticky_done", sa.Boolean(), nullable=False),
        sa.Column("overflowed", sa.Boolean(), nullable=False),
        _json("passed_over"),
        sa.Column("carried_reason", sa.Text(), nullable=False),
        _moment("updated_at", False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_routing_progress_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        _workspace_fk("routing_progress"),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_routing_progress"),
    )
    op.create_index("ix_routing_progress_workspace_id", "routing_progress", ["workspace_id"])
    op.create_table(
        "routing_offers",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("cost", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        _moment("offered_at", False),
        _moment("expires_at", False),
        _moment("answered_at", True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_routing_offers_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name="fk_routing_offers_agent_id_agents",
            ondelete="CASCADE",
        ),
        _workspace_fk("routing_offers"),
        sa.PrimaryKeyConstraint("id", name="pk_routing_offers"),
    )
    op.create_index("ix_routing_offers_workspace_id", "routing_offers", ["workspace_id"])
    op.create_index("ix_routing_offers_conversation_id", "routing_offers", ["conversation_id"])
    op.create_index("ix_routing_offers_agent_status", "routing_offers", ["agent_id", "status"])
    op.create_index(
        "uq_routing_offers_pending_conversation",
        "routing_offers",
        ["conversation_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("routing_offers")
    op.drop_table("routing_progress")
    op.drop_table("team_routing")
    with op.batch_alter_table("agent_loads") as batch:
        batch.drop_column("missed_offers")
    with op.batch_alter_table("routing_settings") as batch:
        batch.drop_column("steps")
