"""What the widget's pages, visitor API and socket read first: the visitor's claims from
the token presented, the public key of a workspace's chat widget, and a conversation of the
visitor's workspace."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.domain.channels import Channel
from threadline.domain.messaging.web_chat import InvalidVisitorToken, VisitorClaims
from threadline.web_chat.visitor_sessions import authenticate_visitor
from threadline.web_chat.widget_inboxes import PUBLIC_KEY_SETTING


async def presented_visitor(
    session: AsyncSession, signing_key: str, token: str | None
) -> VisitorClaims:
    """The claims of the visitor token a request presents; a missing one is refused."""
    if not token:
        raise InvalidVisitorToken("send the visitor token in X-Visitor-Token")
    claims, _ = await authenticate_visitor(session, signing_key, token)
    return claims


async def widget_key_of_workspace(session: AsyncSession, slug: str) -> str | None:
    """The public key of the workspace's first web-chat inbox that has one (the demo shop
    embeds the demo workspace's widget with it)."""
    rows = await session.execute(
        select(t.Inbox)
        .join(t.Workspace, t.Workspace.id == t.Inbox.workspace_id)
        .where(t.Workspace.slug == slug, t.Inbox.channel == Channel.WEB_CHAT.value)
        .order_by(t.Inbox.id)
    )
    for inbox in rows.scalars():
        key = inbox.settings.get(PUBLIC_KEY_SETTING)
        if isinstance(key, str):
            return key
    return None


async def conversation_in_workspace(
    session: AsyncSession, workspace_id: int, conversation_id: int
) -> t.Conversation | None:
    """The conversation, when it belongs to this workspace."""
    conversation = await session.get(t.Conversation, conversation_id)
    if conversation is None or conversation.workspace_id != workspace_id:
        return None
    return conversation
