"""wrap-up codes, CSAT settings and CSAT surveys

Revision ID: 0004_wrapup
Revises: 0001
Create Date: 2026-11-23 19:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import threadline.adapters.db.types

revision = "0004_wrapup"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _moment(name: str, nullable: bool) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name, threadline.adapters.db.types.UTCDateTime(timezone=True), nullable=nullable
    )


def upgrade() -> None:
    op.create_table(
        "wrap_up_codes",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("team_id", ID, nullable=True),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _moment("created_at", False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_wrap_up_codes_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_wrap_up_codes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wrap_up_codes")),
    )
    with op.batch_alter_table("wrap_up_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wrap_up_codes_workspace_id"), ["workspace_id"], unique=False
        )
        batch_op.create_index("ix_wrap_up_codes_ws_code", ["workspace_id", "code"], unique=False)

    op.create_table(
        "csat_settings",
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("delay_seconds", sa.Integer(), nullable=False),
        sa.Column("valid_seconds", sa.Integer(), nullable=False),
        sa.Column("link_base_url", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_csat_settings_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_csat_settings")),
    )

    op.create_table(
        "csat_surveys",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("agent_id", ID, nullable=True),
        sa.Column("customer_id", ID, nullable=False),
        sa.Column("message_id", ID, nullable=True),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        _moment("resolved_at", False),
        _moment("sent_at", False),
        _moment("expires_at", False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        _moment("answered_at", True),
        _moment("updated_at", True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_csat_surveys_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_csat_surveys_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_csat_surveys_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_csat_surveys_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_csat_surveys_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csat_surveys")),
        sa.UniqueConstraint("token", name=op.f("uq_csat_surveys_token")),
    )
    with op.batch_alter_table("csat_surveys", schema=None) as batch_op:
        for column in ("workspace_id", "conversation_id", "agent_id", "customer_id"):
            batch_op.create_index(batch_op.f(f"ix_csat_surveys_{column}"), [column], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("csat_surveys", schema=None) as batch_op:
        for column in ("workspace_id", "conversation_id", "agent_id", "customer_id"):
            batch_op.drop_index(batch_op.f(f"ix_csat_surveys_{column}"))
    op.drop_table("csat_surveys")
    op.drop_table("csat_settings")
    with op.batch_alter_table("wrap_up_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_wrap_up_codes_ws_code")
        batch_op.drop_index(batch_op.f("ix_wrap_up_codes_workspace_id"))
    op.drop_table("wrap_up_codes")
