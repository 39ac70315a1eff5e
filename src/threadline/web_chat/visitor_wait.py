"""Where the visitor's conversation stands: waiting in the queue (position and estimated
wait, routing's view) or being helped by an agent, whose name and photo the visitor sees."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_scoped
from threadline.domain.conversations import Direction
from threadline.domain.messaging.web_chat import VisitorClaims, safe_photo_url
from threadline.routing import queue_positions


async def visitor_queue(
    session: AsyncSession, claims: VisitorClaims, conversation_id: int, now: datetime
) -> dict[str, Any]:
    """Queue position and estimated wait of the visitor's conversation (routing's view)."""
    conversation = await get_scoped(session, t.Conversation, claims.workspace_id, conversation_id)
    agent_id = conversation.assignee_id
    if agent_id is None:
        # Not yet assigned, but an agent has already answered: the visitor is being helped,
        # and a queue position beside that answer would be wrong.
        agent_id = await _latest_answering_agent(session, conversation_id)
    if agent_id is not None:
        card = await agent_card(session, claims.workspace_id, agent_id)
        return {"waiting": False, "position": None, "estimated_wait_seconds": None, "agent": card}
    place = (await queue_positions(session, claims.workspace_id, [conversation], now))[
        conversation.id
    ]
    return {
        "waiting": bool(place["waiting"]),
        "position": place["position"],
        "estimated_wait_seconds": place["estimated_wait_seconds"],
        "agent": None,
    }


async def _latest_answering_agent(session: AsyncSession, conversation_id: int) -> int | None:
    return (
        await session.execute(
            select(t.Message.author_agent_id)
            .where(
                t.Message.conversation_id == conversation_id,
                t.Message.direction == Direction.OUTBOUND.value,
                t.Message.author_agent_id.is_not(None),
            )
            .order_by(t.Message.created_at.desc(), t.Message.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def agent_card(session: AsyncSession, workspace_id: int, agent_id: int) -> dict[str, Any]:
    """What a customer sees of an agent: the name and photo (a default one in the frame)."""
    agent = await session.get(t.Agent, agent_id)
    if agent is None or agent.workspace_id != workspace_id:
        return {"name": None, "photo_url": None}
    return {"name": agent.name, "photo_url": safe_photo_url(agent.photo_url)}
