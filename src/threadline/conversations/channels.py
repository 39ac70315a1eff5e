"""Remembering which channels a conversation has used."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.domain.channels import Channel


async def record_channel(
    session: AsyncSession, workspace_id: int, conversation_id: int, channel: Channel
) -> None:
    if await session.get(t.ConversationChannel, (conversation_id, channel.value)) is None:
        session.add(
            t.ConversationChannel(
                workspace_id=workspace_id, conversation_id=conversation_id, channel=channel.value
            )
        )
