"""One conversation, or one message, as the principal may see it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.conversations.queries.conversation_views import conversation_views
from threadline.core.lookups import get_scoped, get_visible_conversation
from threadline.core.views import message_view
from threadline.domain.errors import NotFound
from threadline.domain.security.access import Principal


async def conversation_detail(
    session: AsyncSession, principal: Principal, conversation_id: int
) -> dict[str, Any]:
    conversation = await get_visible_conversation(session, principal, conversation_id)
    return (await conversation_views(session, [conversation]))[0]


async def message_detail(
    session: AsyncSession, principal: Principal, message_id: int
) -> dict[str, Any]:
    message = await get_scoped(session, t.Message, principal.workspace_id, message_id)
    try:
        await get_visible_conversation(session, principal, message.conversation_id)
    except NotFound as exc:
        # Said as the message, so the answer does not reveal which conversation it is in.
        raise NotFound(f"message {message_id} not found") from exc
    return message_view(message)
