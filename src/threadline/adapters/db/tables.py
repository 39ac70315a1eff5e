"""The relational schema: typed SQLAlchemy 2 models. Every row carries its workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from threadline.adapters.db.types import JSONType, UTCDateTime

# SQLite needs INTEGER PRIMARY KEY for autoincrement; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


def _ws_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)


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
    workspace_id: Mapped[int] = _ws_fk()
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


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
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
    workspace_id: Mapped[int] = _ws_fk()


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class RevokedToken(Base):
    """An agent token signed out before it expired: refused until then, then forgotten."""

    __tablename__ = "revoked_tokens"
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
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
    workspace_id: Mapped[int] = _ws_fk()
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(320))
    # Provider settings (webhook URL, account ids). The secrets among them (passwords, tokens:
    # domain/secret_settings.py) are never shown back; the signing secret lives in `secret`.
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secret: Mapped[str | None] = mapped_column(String(200))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class EmailDomain(Base):
    """A mail domain a workspace may put its inbox addresses on, allowed by the installation's
    operator (`threadline email-domain allow`). A domain belongs to one workspace at most."""

    __tablename__ = "email_domains"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    # Who allowed it: "operator" (the CLI), "demo seed", "existing inboxes at upgrade".
    allowed_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    name: Mapped[str | None] = mapped_column(String(300), index=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    labels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Identity(Base):
    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "value"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_ws_status_last", "workspace_id", "status", "last_message_at"),
        # The routing queue: unassigned open work, oldest first within each priority.
        Index(
            "ix_conversations_waiting",
            "workspace_id",
            "priority",
            "last_inbound_at",
            "id",
            postgresql_where=text("status = 'open' AND assignee_id IS NULL"),
            sqlite_where=text("status = 'open' AND assignee_id IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="open")
    priority: Mapped[str] = mapped_column(String(20), default="normal")
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_inbound_channel: Mapped[str | None] = mapped_column(String(20))
    last_inbound_inbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("inboxes.id", ondelete="SET NULL")
    )
    last_inbound_at: Mapped[datetime | None]
    last_message_at: Mapped[datetime]
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    wrap_up_code: Mapped[str | None] = mapped_column(String(100))
    wrap_up_summary: Mapped[str | None] = mapped_column(Text)


class ConversationLabel(Base):
    __tablename__ = "conversation_labels"
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
    workspace_id: Mapped[int] = _ws_fk()


class ConversationChannel(Base):
    """Which channels a conversation has used; lets the list filter by channel cheaply."""

    __tablename__ = "conversation_channels"
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)
    workspace_id: Mapped[int] = _ws_fk()


class Label(Base):
    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    name: Mapped[str] = mapped_column(String(100))
    color: Mapped[str | None] = mapped_column(String(20))


class AttributeDefinition(Base):
    """A custom attribute a workspace keeps on customers or conversations."""

    __tablename__ = "attribute_definitions"
    __table_args__ = (UniqueConstraint("workspace_id", "entity", "key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    entity: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(200))
    value_type: Mapped[str] = mapped_column(String(20), default="text")


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("workspace_id", "inbox_id", "provider_message_id"),
        Index("ix_messages_conversation_created", "conversation_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inboxes.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(20))
    author_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    sender_identity: Mapped[str | None] = mapped_column(String(320))
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    provider_message_id: Mapped[str | None] = mapped_column(String(300))
    delivery_status: Mapped[str] = mapped_column(String(20))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # Voice calls: outcome (answered, missed, voicemail), duration_seconds, recording_url.
    call: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class Note(Base):
    """A note on the customer ("has four children"), seen by every agent."""

    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    author_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class Offer(Base):
    __tablename__ = "offers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    product: Mapped[str] = mapped_column(String(300))
    price: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str | None] = mapped_column(String(20))
    valid_until: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    created_at: Mapped[datetime]


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_ws_status_due", "workspace_id", "status", "due_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(20), default="follow_up")
    title: Mapped[str] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(20))
    due_at: Mapped[datetime]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class CustomerMerge(Base):
    """Audit of a merge, with what moved, so that it can be undone."""

    __tablename__ = "customer_merges"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    source_customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    target_customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    actor_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    moved: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    undone_at: Mapped[datetime | None]
    undone_by_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )


class Event(Base):
    """The outbox of domain events, written in the transaction of the change."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("workspace_id", "seq"),
        # A visitor's back-fill reads its own conversations' events, not the workspace's.
        Index("ix_events_conversation_seq", "conversation_id", "seq"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(50))
    audience: Mapped[str] = mapped_column(String(20), default="everyone")
    conversation_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class OutboundJob(Base):
    """Durable hand-over of an outbound message to its channel adapter.

    status: pending (due at next_attempt_at), sending (leased to a worker until
    locked_until), unconfirmed (a send whose outcome we never learned; the provider may have
    the message), done or failed. See adapters/db/outbound_claims.py and
    delivery/outbound.py.
    """

    __tablename__ = "outbound_jobs"
    __table_args__ = (Index("ix_outbound_jobs_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # When the latest claim began (migration 0013_outbound_in_doubt).
    attempt_started_at: Mapped[datetime | None]
    # The start of the earliest attempt whose outcome we never learned (a timeout after the
    # request was written, a worker killed mid-send); cleared once the provider's answer,
    # a lookup or a delivery report settles it.
    in_doubt_since: Mapped[datetime | None]


# --- Wrap-up codes and CSAT surveys (service levels, issue 5; migration 0004_wrapup) ---


class WrapUpCode(Base):
    """A classification an agent picks when resolving; workspace-wide when team_id is null."""

    __tablename__ = "wrap_up_codes"
    __table_args__ = (Index("ix_wrap_up_codes_ws_code", "workspace_id", "code"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class CsatSettings(Base):
    """Per-workspace survey settings; a workspace without a row uses the defaults."""

    __tablename__ = "csat_settings"
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(default=True)
    delay_seconds: Mapped[int] = mapped_column(Integer, default=30 * 60)
    valid_seconds: Mapped[int] = mapped_column(Integer, default=7 * 24 * 3600)
    # Where customers open survey links (https://support.example.com); per workspace, since
    # a workspace may run behind its own domain.
    link_base_url: Mapped[str | None] = mapped_column(String(300))


class CsatSurvey(Base):
    """One satisfaction survey for one resolution of a conversation, and its answer."""

    __tablename__ = "csat_surveys"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    resolved_at: Mapped[datetime]
    sent_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]


# --- Service levels (issue 5): durable timers, business calendars, SLA policies and clocks ---
# Migration: 0003_sla.


class Timer(Base):
    """A durable "do this at that time", fired exactly once by any of the timer workers."""

    __tablename__ = "timers"
    __table_args__ = (
        UniqueConstraint("workspace_id", "key"),
        Index("ix_timers_due", "status", "fire_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    kind: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    fire_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # armed -> fired | cancelled (| failed after too many handler errors)
    status: Mapped[str] = mapped_column(String(20), default="armed")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    fired_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class BusinessCalendarRow(Base):
    """Working hours of a workspace: weekly ranges in a time zone, minus public holidays."""

    __tablename__ = "business_calendars"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    # {"0": [["08:00", "16:00"]], ...}: ISO weekday numbers 0=Monday .. 6=Sunday.
    weekly: Mapped[dict[str, Any]] = mapped_column(default=dict)
    holiday_country: Mapped[str | None] = mapped_column(String(2))
    holiday_subdivision: Mapped[str | None] = mapped_column(String(10))
    custom_holidays: Mapped[list[str]] = mapped_column(JSONType, default=list)
    always_open: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SlaPolicy(Base):
    """Response and resolution targets for conversations matching its conditions."""

    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # {"channel": [...], "priority": [...], "team_id": [...], "customer_label": [...],
    #  "customer_tier": [...]}; empty means "any conversation" (a fallback policy).
    conditions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_response_seconds: Mapped[int | None] = mapped_column(Integer)
    next_response_seconds: Mapped[int | None] = mapped_column(Integer)
    resolution_seconds: Mapped[int | None] = mapped_column(Integer)
    # None means round the clock (24x7).
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="SET NULL")
    )
    warning_ratio: Mapped[float] = mapped_column(default=0.8)
    # {"warning": ["notify_supervisor"], "breach": ["notify_supervisor", "raise_priority"]}
    escalation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SlaClock(Base):
    """One target running for one conversation; stopped clocks are the SLA measurements."""

    __tablename__ = "sla_clocks"
    __table_args__ = (Index("ix_sla_clocks_conversation_kind", "conversation_id", "kind"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("business_calendars.id", ondelete="SET NULL"), index=True
    )
    target_seconds: Mapped[int] = mapped_column(Integer)
    warning_ratio: Mapped[float] = mapped_column(default=0.8)
    started_at: Mapped[datetime]
    due_at: Mapped[datetime]
    paused_at: Mapped[datetime | None]
    # Working time spent paused (waiting on the customer); it pushes the deadline out.
    paused_seconds: Mapped[float] = mapped_column(default=0.0)
    stopped_at: Mapped[datetime | None]
    warned_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    met: Mapped[bool | None]
    elapsed_seconds: Mapped[float | None]
    working_seconds: Mapped[float | None]


# --- IMAP polling cursors (channels, issue 3; migration 0002_imap) ---


class MailboxCursor(Base):
    """How far the IMAP poller has taken in one folder of one inbox's mailbox.

    last_uid only moves past a message once it is stored (and flagged); a changed
    UIDVALIDITY means the server renumbered the folder, and the cursor starts over.
    """

    __tablename__ = "mailbox_cursors"
    __table_args__ = (UniqueConstraint("inbox_id", "folder"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime]


# --- Routing (issue 4; migration 0006_routing): settings, agent loads, assignment history ---


class RoutingSettings(Base):
    """Per-workspace routing: manual (people pick from the queue) or auto, and score weights."""

    __tablename__ = "routing_settings"
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    mode: Mapped[str] = mapped_column(String(20), default="manual")
    weights: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]
    # Sticky wait, skill relaxation, overflow and offer mode (domain/routing/steps.py).
    steps: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AgentLoad(Base):
    """An agent's open work, and the row every claim on the agent's capacity locks first.

    Whoever assigns to or releases from an agent holds this row's lock, so capacity is
    checked and taken as one step even when several processes route at once.
    """

    __tablename__ = "agent_loads"
    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = _ws_fk()
    load: Mapped[int] = mapped_column(Integer, default=0)
    # {channel: number of open assignments}
    open_work: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime]
    # Offers in a row this agent let run out (offer mode); reset when they answer one.
    missed_offers: Mapped[int] = mapped_column(Integer, default=0)


class Assignment(Base):
    """One period of an agent owning a conversation, with why they were chosen."""

    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_agent_released", "agent_id", "released_at"),
        # The recent handling times of one channel, behind wait estimates (0014_assignment_channel_index).
        Index("ix_assignments_ws_channel_released", "workspace_id", "channel", "released_at"),
        # At most one active assignment per conversation, whatever races above.
        Index(
            "uq_assignments_active_conversation",
            "conversation_id",
            unique=True,
            postgresql_where=text("released_at IS NULL"),
            sqlite_where=text("released_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    cost: Mapped[int] = mapped_column(Integer)
    assigned_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    # auto | manual | reopen | queue
    mode: Mapped[str] = mapped_column(String(20))


# --- Agent content (issue 6; migration 0008_agent_content): canned responses, label scripts,
# --- product catalogue, customer orders, notifications ---


class CannedResponse(Base):
    """A standard reply an agent inserts by its shortcut; the body may hold {{variables}}."""

    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("workspace_id", "shortcut"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    shortcut: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LabelScript(Base):
    """What to say for conversations carrying a label: a script and suggested replies."""

    __tablename__ = "label_scripts"
    __table_args__ = (UniqueConstraint("workspace_id", "label"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    label: Mapped[str] = mapped_column(String(100))
    script: Mapped[str | None] = mapped_column(Text)
    suggested_replies: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("workspace_id", "sku"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    # Text, like offer prices, so an amount is never rounded.
    price: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    in_stock: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ProductRelation(Base):
    """`related` complements `product` (sell it too) or substitutes it (sell it instead)."""

    __tablename__ = "product_relations"
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    related_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # complementary | substitute
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("workspace_id", "number"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    placed_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OrderItem(Base):
    """A line of an order; the SKU is kept as sent, whether or not the catalogue knows it."""

    __tablename__ = "order_items"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)


class Notification(Base):
    """Something one agent should look at, e.g. a note that mentions them."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_agent_read", "agent_id", "read_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    author_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    note_id: Mapped[int | None] = mapped_column(ForeignKey("notes.id", ondelete="CASCADE"))
    excerpt: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class TeamRouting(Base):
    """A team's routing: the capacity its agents have when their own sets none, and routing
    steps (sticky wait, relaxation, overflow, offers) overriding the workspace's."""

    __tablename__ = "team_routing"
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = _ws_fk()
    capacity: Mapped[dict[str, Any]] = mapped_column(default=dict)
    steps: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class RoutingProgress(Base):
    """Where a waiting conversation is in the routing steps; gone once it is assigned."""

    __tablename__ = "routing_progress"
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = _ws_fk()
    # Each step lowers every required skill level by the configured amount.
    relax_level: Mapped[int] = mapped_column(Integer, default=0)
    # The relationship agent it waits for, until when; done once the wait is over.
    sticky_agent_id: Mapped[int | None] = mapped_column(BigInteger)
    sticky_until: Mapped[datetime | None]
    sticky_done: Mapped[bool] = mapped_column(default=False)
    overflowed: Mapped[bool] = mapped_column(default=False)
    # Agents who declined or missed an offer of it: not offered it again.
    passed_over: Mapped[list[int]] = mapped_column(JSONType, default=list)
    # Why it waits, carried into the explanation of the assignment that ends the wait
    # (e.g. a transfer to a team, with its note).
    carried_reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime]


class RoutingFillRequest(Base):
    """An agent whose room should be filled from the queue (they came online or freed
    capacity). Written in the transaction of that change; a fill pass locks the requests it
    serves and deletes them in the transaction that assigns the work."""

    __tablename__ = "routing_fill_requests"
    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = _ws_fk()
    requested_at: Mapped[datetime]


class RoutingOffer(Base):
    """Offer mode: the chosen agent is asked first; a pending offer reserves their capacity."""

    __tablename__ = "routing_offers"
    __table_args__ = (
        Index("ix_routing_offers_agent_status", "agent_id", "status"),
        # At most one pending offer per conversation.
        Index(
            "uq_routing_offers_pending_conversation",
            "conversation_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = _ws_fk()
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    cost: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    # pending -> accepted | declined | expired | withdrawn
    status: Mapped[str] = mapped_column(String(20))
    offered_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
