"""The visitor's conversations, in the order the chat shows them, and what of them a
visitor may read: their events (the visitor's socket) and the files sent in them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.adapters.db.id_lists import among
from threadline.core.unit_of_work import event_envelope
from threadline.domain.channels import Channel


def _customer_conversations(workspace_id: int, customer_id: int) -> Select[int]:
    """The ids of this customer's conversations: everything a visitor may read is in them."""
    return select(t.Conversation.id).where(
        t.Conversation.workspace_id == workspace_id, t.Conversation.customer_id == customer_id
    )


async def latest_conversation_id(
    session: AsyncSession, workspace_id: int, customer_id: int
) -> int | None:
    found = await session.execute(
        _by_latest(_customer_conversations(workspace_id, customer_id)).limit(1)
    )
    return found.scalar_one_or_none()


def _by_latest(query: Select[int]) -> Select[int]:
    """The visitor's chat is the conversation with the latest message."""
    return query.order_by(t.Conversation.last_message_at.desc(), t.Conversation.id.desc())


async def customer_conversation_ids(
    session: AsyncSession, workspace_id: int, customer_id: int
) -> list[int]:
    """The customer's conversations, the chat's first (latest_conversation_id's order)."""
    rows = await session.execute(_by_latest(_customer_conversations(workspace_id, customer_id)))
    return [int(i) for i in rows.scalars()]


async def customer_events_between(
    session: AsyncSession,
    workspace_id: int,
    customer_id: int,
    after: int,
    upto: int,
    limit: int,
) -> list[dict[str, Any]]:
    """Events of this customer's conversations with after < seq <= upto, oldest first."""
    # The conversation ids are read first and passed as values: as a subquery, a planner
    # without fresh statistics (a busy new workspace) ran it once per event of the whole
    # workspace (19 s for 6,000 events and 2,000 conversations).
    conversation_ids = list(
        (await session.execute(_customer_conversations(workspace_id, customer_id))).scalars()
    )
    if not conversation_ids:
        return []
    rows = (
        await session.execute(
            select(t.Event)
            .where(
                t.Event.workspace_id == workspace_id,
                t.Event.seq > after,
                t.Event.seq <= upto,
                among(session, t.Event.conversation_id, conversation_ids),
            )
            .order_by(t.Event.seq)
            .limit(limit)
        )
    ).scalars()
    return [event_envelope(workspace_id, row) for row in rows]


async def visitor_may_download(
    session: AsyncSession, workspace_id: int, customer_id: int, sha256: str
) -> str | None:
    """The file's name when a web-chat message of this customer carries it, else None."""
    rows = await session.execute(
        select(t.Message.attachments)
        .join(t.Conversation, t.Conversation.id == t.Message.conversation_id)
        .where(
            t.Message.workspace_id == workspace_id,
            t.Conversation.customer_id == customer_id,
            t.Message.channel == Channel.WEB_CHAT.value,
        )
        .order_by(t.Message.id.desc())
        .limit(2_000)
    )
    for attachments in rows.scalars():
        for item in attachments or []:
            if isinstance(item, dict) and item.get("sha256") == sha256:
                return str(item.get("filename") or "attachment")
    return None
