"""Workspaces and the people and channel accounts in them: agents, teams, API keys,
signed-out tokens, inboxes and the mail domains their addresses may use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.adapters.db.tables.base import Base, BigId, workspace_fk
from threadline.adapters.db.types import JSONType


class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    default_region: Mapped[str] = mapped_column(String(2), default="US")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    reopen_window_seconds: Mapped[int] = mapped_column(Integer, default=7 * 24 * 3600)
    agents_see_all: Mapped[bool] = mapped_column(default=True)
    # Last sequence number handed to an event of this workspace; bumped under a row lock so
    # event order equals commit order and WebSocket clients can resume without gaps.
    event_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime]


class Agent(Base):
    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("workspace_id", "email"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    photo_url: Mapped[str | None] = mapped_column(String(1000))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    skills: Mapped[dict[str, Any]] = mapped_column(default=dict)
    channel_competences: Mapped[dict[str, Any]] = mapped_column(default=dict)
    languages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    capacity: Mapped[dict[str, Any]] = mapped_column(default=dict)
    presence: Mapped[str] = mapped_column(String(20), default="offline")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # Tokens issued before this are refused: a new password signs out every other session.
    password_changed_at: Mapped[datetime | None]


class SignUpLink(Base):
    """A one-time link mailed to an agent: an invitation (choose a password and join) or a
    password reset. Only the token's SHA-256 is kept; the link works once, until it expires."""

    __tablename__ = "sign_up_links"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    # invite | reset
    purpose: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # The relay's answer when the mail could not be handed over (None: sent, or not tried).
    mail_error: Mapped[str | None] = mapped_column(String(300))
    mailed_at: Mapped[datetime | None]


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class TeamMember(Base):
    __tablename__ = "team_members"
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    workspace_id: Mapped[int] = workspace_fk()


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # When an app last called with this key, to the minute (bumped at most once a minute, so
    # a busy integration costs one write a minute, not one per request).
    last_used_at: Mapped[datetime | None]


class RevokedToken(Base):
    """An agent token signed out before it expired: refused until then, then forgotten."""

    __tablename__ = "revoked_tokens"
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(index=True)


# The partial index below, and the recipient lookup that must match it to use it.
EMAIL_INBOXES = "channel = 'email'"


class Inbox(Base):
    """One channel account: a mailbox, a phone number, a WhatsApp number, a site, an app."""

    __tablename__ = "inboxes"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        # An email address names one inbox in the whole installation (migration
        # 0012_email_addresses): the inbound SMTP server finds it by this index.
        Index(
            "uq_inboxes_email_address",
            func.lower(text("address")),
            unique=True,
            postgresql_where=text(EMAIL_INBOXES),
            sqlite_where=text(EMAIL_INBOXES),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(320))
    # Provider settings (webhook URL, account ids). The secrets among them (passwords, tokens:
    # domain/security/secret_settings.py) are never shown back; the signing secret lives in `secret`.
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secret: Mapped[str | None] = mapped_column(String(200))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class EmailDomain(Base):
    """A mail domain a workspace may put its inbox addresses on, allowed by the installation's
    operator (`threadline email-domain allow`). A domain belongs to one workspace at most."""

    __tablename__ = "email_domains"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    # Who allowed it: "operator" (the CLI), "demo seed", "existing inboxes at upgrade".
    allowed_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
