"""Satisfaction surveys and their settings (migration 0004_wrapup)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.adapters.db.tables.base import Base, BigId, workspace_fk


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
    workspace_id: Mapped[int] = workspace_fk()
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
