"""Conversations as the API shows them, with their labels and channels read in one query each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.views import conversation_view


async def conversation_views(
    session: AsyncSession, conversations: Sequence[t.Conversation]
) -> list[dict[str, Any]]:
    ids = [c.id for c in conversations]
    labels: dict[int, list[str]] = {i: [] for i in ids}
    channels: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for conversation_id, label in await session.execute(
            select(t.ConversationLabel.conversation_id, t.ConversationLabel.label).where(
                t.ConversationLabel.conversation_id.in_(ids)
            )
        ):
            labels[conversation_id].append(label)
        for conversation_id, channel in await session.execute(
            select(t.ConversationChannel.conversation_id, t.ConversationChannel.channel).where(
                t.ConversationChannel.conversation_id.in_(ids)
            )
        ):
            channels[conversation_id].append(channel)
    return [conversation_view(c, labels[c.id], channels[c.id]) for c in conversations]
