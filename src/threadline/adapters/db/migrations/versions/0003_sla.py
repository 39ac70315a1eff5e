"""service levels: durable timers, business calendars, SLA policies and clocks

Revision ID: 0003_sla
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from threadline.adapters.db.types import UTCDateTime

revision = "0003_sla"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "timers",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("fire_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("fired_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_timers_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timers")),
        sa.UniqueConstraint("workspace_id", "key", name=op.f("uq_timers_workspace_id_key")),
    )
    op.create_index(op.f("ix_timers_workspace_id"), "timers", ["workspace_id"])
    op.create_index("ix_timers_due", "timers", ["status", "fire_at"])

    op.create_table(
        "business_calendars",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("weekly", JSON, nullable=False),
        sa.Column("holiday_country", sa.String(2), nullable=True),
        sa.Column("holiday_subdivision", sa.String(10), nullable=True),
        sa.Column("custom_holidays", JSON, nullable=False),
        sa.Column("always_open", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_business_calendars_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_calendars")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_business_calendars_workspace_id_name")
        ),
    )
    op.create_index(
        op.f("ix_business_calendars_workspace_id"), "business_calendars", ["workspace_id"]
    )

    op.create_table(
        "sla_policies",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("conditions", JSON, nullable=False),
        sa.Column("first_response_seconds", sa.Integer(), nullable=True),
        sa.Column("next_response_seconds", sa.Integer(), nullable=True),
        sa.Column("resolution_seconds", sa.Integer(), nullable=True),
        sa.Column("calendar_id", ID, nullable=True),
        sa.Column("warning_ratio", sa.Float(), nullable=False),
        sa.Column("escalation", JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_sla_policies_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["business_calendars.id"],
            name=op.f("fk_sla_policies_calendar_id_business_calendars"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_sla_policies_workspace_id_name")),
    )
    op.create_index(op.f("ix_sla_policies_workspace_id"), "sla_policies", ["workspace_id"])

    op.create_table(
        "sla_clocks",
        sa.Column("id", ID, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("policy_id", ID, nullable=True),
        sa.Column("calendar_id", ID, nullable=True),
        sa.Column("target_seconds", sa.Integer(), nullable=False),
        sa.Column("warning_ratio", sa.Float(), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("paused_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("paused_seconds", sa.Float(), nullable=False),
        sa.Column("stopped_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("warned_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("breached_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("met", sa.Boolean(), nullable=True),
        sa.Column("elapsed_seconds", sa.Float(), nullable=True),
        sa.Column("working_seconds", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_sla_clocks_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_sla_clocks_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["sla_policies.id"],
            name=op.f("fk_sla_clocks_policy_id_sla_policies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["business_calendars.id"],
            name=op.f("fk_sla_clocks_calendar_id_business_calendars"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_clocks")),
    )
    op.create_index(op.f("ix_sla_clocks_workspace_id"), "sla_clocks", ["workspace_id"])
    op.create_index(op.f("ix_sla_clocks_calendar_id"), "sla_clocks", ["calendar_id"])
    op.create_index("ix_sla_clocks_conversation_kind", "sla_clocks", ["conversation_id", "kind"])


def downgrade() -> None:
    op.drop_table("sla_clocks")
    op.drop_table("sla_policies")
    op.drop_table("business_calendars")
    op.drop_table("timers")
