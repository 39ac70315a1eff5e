"""Routing (migration 0006_routing and later): settings, agent loads, assignment history,
team routing, the progress of waiting conversations, fill requests and offers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.adapters.db.tables.base import Base, BigId, workspace_fk
from threadline.adapters.db.types import JSONType


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
    workspace_id: Mapped[int] = workspace_fk()
    load: Mapped[int] = mapped_column(Integer, default=0)
    # {channel: number of open assignments}
    open_work: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime]
    # Offers in a row this agent let run out (offer mode); reset when they answer one.
    missed_offers: Mapped[int] = mapped_column(Integer, default=0)


class CapacityClaim:
    """What an assignment and an offer to an agent both are: a claim of `cost` on an agent's
    capacity for one conversation on one channel, with why that agent was chosen."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    cost: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")


class Assignment(CapacityClaim, Base):
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
    assigned_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    # auto | manual | reopen | queue
    mode: Mapped[str] = mapped_column(String(20))


class TeamRouting(Base):
    """A team's routing: the capacity its agents have when their own sets none, and routing
    steps (sticky wait, relaxation, overflow, offers) overriding the workspace's."""

    __tablename__ = "team_routing"
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = workspace_fk()
    capacity: Mapped[dict[str, Any]] = mapped_column(default=dict)
    steps: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class RoutingProgress(Base):
    """Where a waiting conversation is in the routing steps; gone once it is assigned."""

    __tablename__ = "routing_progress"
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[int] = workspace_fk()
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
    workspace_id: Mapped[int] = workspace_fk()
    requested_at: Mapped[datetime]


class RoutingOffer(CapacityClaim, Base):
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
    # pending -> accepted | declined | expired | withdrawn
    status: Mapped[str] = mapped_column(String(20))
    offered_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
