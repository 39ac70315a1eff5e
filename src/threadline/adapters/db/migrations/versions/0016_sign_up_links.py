"""invitations and password resets by link; a new password signs out other sessions

`sign_up_links` holds one-time links mailed to agents (an invitation to choose a password and
join, or a password reset), by the SHA-256 of their token. `agents.password_changed_at`: an
agent token issued before it is refused.

Revision ID: 0016_sign_up_links
Revises: 0015_timer_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import threadline.adapters.db.types

revision = "0016_sign_up_links"
down_revision = "0015_timer_keys"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _moment(name: str, nullable: bool) -> sa.Column[object]:
    return sa.Column(
        name, threadline.adapters.db.types.UTCDateTime(timezone=True), nullable=nullable
    )


def upgrade() -> None:
    with op.batch_alter_table("agents") as agents:
        agents.add_column(_moment("password_changed_at", True))
    op.create_table(
        "sign_up_links",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", ID, nullable=False),
        sa.Column("agent_id", ID, nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by_agent_id", ID, nullable=True),
        _moment("created_at", False),
        _moment("expires_at", False),
        _moment("used_at", True),
        sa.Column("mail_error", sa.String(length=300), nullable=True),
        _moment("mailed_at", True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_sign_up_links_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name="fk_sign_up_links_agent_id_agents",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_agent_id"],
            ["agents.id"],
            name="fk_sign_up_links_created_by_agent_id_agents",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sign_up_links"),
        sa.UniqueConstraint("token_hash", name="uq_sign_up_links_token_hash"),
    )
    op.create_index("ix_sign_up_links_workspace_id", "sign_up_links", ["workspace_id"])
    op.create_index("ix_sign_up_links_agent_id", "sign_up_links", ["agent_id"])


def downgrade() -> None:
    op.drop_index("ix_sign_up_links_agent_id", table_name="sign_up_links")
    op.drop_index("ix_sign_up_links_workspace_id", table_name="sign_up_links")
    op.drop_table("sign_up_links")
    with op.batch_alter_table("agents") as agents:
        agents.drop_column("password_changed_at")
