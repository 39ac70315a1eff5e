"""Moving messages through channels: the outbound jobs and the IMAP poller's cursors
(migration 0002_imap)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from threadline.adapters.db.tables.base import Base, BigId, workspace_fk


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
    workspace_id: Mapped[int] = workspace_fk()
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


class MailboxCursor(Base):
    """How far the IMAP poller has taken in one folder of one inbox's mailbox.

    last_uid only moves past a message once it is stored (and flagged); a changed
    UIDVALIDITY means the server renumbered the folder, and the cursor starts over.
    """

    __tablename__ = "mailbox_cursors"
    __table_args__ = (UniqueConstraint("inbox_id", "folder"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime]
