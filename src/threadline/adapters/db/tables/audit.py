"""The audit log: who changed what in a workspace, when, from where, before and after.

Rows are only ever added: the database itself refuses to change or delete one (triggers of
migration 0018_audit_log), so not even a bug of ours can rewrite history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from threadline.adapters.db.tables.base import Base, BigId
from threadline.adapters.db.types import JSONType


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (
        # The console reads a workspace's entries newest first, by keyset (at, id).
        Index("ix_audit_entries_workspace_id_at_id", "workspace_id", "at", "id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No ON DELETE CASCADE: a cascade would be a delete, which the log refuses.
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    at: Mapped[datetime]
    # agent, api_key, system or visitor (someone not signed in: a failed sign-in).
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_name: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str | None] = mapped_column(String(300))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    request_id: Mapped[str | None] = mapped_column(String(128))
    ip: Mapped[str | None] = mapped_column(String(64))
    # Words to search by: the action, object and actor, lower-cased once when written.
    search_text: Mapped[str] = mapped_column(Text, default="")
