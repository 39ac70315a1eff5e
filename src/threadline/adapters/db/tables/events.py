"""The outbox of domain events and the durable timers (migration 0003_sla)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from threadline.adapters.db.tables.base import Base, BigId, workspace_fk


class Event(Base):
    """The outbox of domain events, written in the transaction of the change."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("workspace_id", "seq"),
        # A visitor's back-fill reads its own conversations' events, not the workspace's.
        Index("ix_events_conversation_seq", "conversation_id", "seq"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(50))
    audience: Mapped[str] = mapped_column(String(20), default="everyone")
    conversation_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class Timer(Base):
    """A durable "do this at that time", fired exactly once by any of the timer workers."""

    __tablename__ = "timers"
    __table_args__ = (
        UniqueConstraint("workspace_id", "key"),
        Index("ix_timers_due", "status", "fire_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
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
