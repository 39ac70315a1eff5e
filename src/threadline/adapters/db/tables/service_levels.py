"""Service levels: business calendars, SLA policies and the clocks they run (migration 0003_sla)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from threadline.adapters.db.tables.base import Base, BigId, workspace_fk
from threadline.adapters.db.types import JSONType


class BusinessCalendarRow(Base):
    """Working hours of a workspace: weekly ranges in a time zone, minus public holidays."""

    __tablename__ = "business_calendars"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
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
    workspace_id: Mapped[int] = workspace_fk()
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
    workspace_id: Mapped[int] = workspace_fk()
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
