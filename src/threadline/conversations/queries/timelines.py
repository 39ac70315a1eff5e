"""Timelines: a conversation's messages a page at a time, and a customer's across every
conversation and channel."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.conversations.queries.paging import MAX_PAGE, Page, page_size
from threadline.conversations.queries.visibility import visible_conversations
from threadline.core.lookups import get_scoped, get_visible_conversation
from threadline.core.views import message_view
from threadline.domain.errors import DomainError, NotFound
from threadline.domain.security.access import Principal

# How many of a conversation's messages its page shows at once: the newest, with "load
# earlier messages" for the ones before (a long conversation is never loaded whole).
TIMELINE_PAGE = 50


async def customer_timeline(
    session: AsyncSession,
    principal: Principal,
    customer_id: int,
    *,
    before_id: int | None = None,
    limit: int | None = None,
) -> Page:
    """Every message of every conversation of the customer, newest first, across channels."""
    ws = principal.workspace_id
    size = page_size(limit)
    customer = await get_scoped(session, t.Customer, ws, customer_id)
    statement = _visible_messages(principal, t.Conversation.customer_id == customer.id)
    if before_id is not None:
        statement = statement.where(_before(await get_scoped(session, t.Message, ws, before_id)))
    messages = list(
        (
            await session.execute(
                statement.order_by(t.Message.created_at.desc(), t.Message.id.desc()).limit(size + 1)
            )
        ).scalars()
    )
    more = len(messages) > size
    messages = messages[:size]
    return Page([message_view(m) for m in messages], str(messages[-1].id) if more else None)


class MessageOrder(StrEnum):
    OLDEST = "oldest"  # oldest first, paged forwards with `after_id` (reading a thread through)
    NEWEST = "newest"  # newest first, paged backwards with `before_id` (what a screen shows)


async def conversation_messages(
    session: AsyncSession,
    principal: Principal,
    conversation_id: int,
    *,
    order: MessageOrder = MessageOrder.OLDEST,
    after_id: int | None = None,
    before_id: int | None = None,
    limit: int | None = None,
) -> Page:
    """The conversation's messages, a page at a time: oldest first after `after_id`, or
    newest first before `before_id`. The cursor is the id of the page's last item."""
    conversation = await get_visible_conversation(session, principal, conversation_id)
    size = page_size(limit, default=MAX_PAGE)
    if order is MessageOrder.OLDEST and before_id is not None:
        raise DomainError("before_id pages newest first: add order=newest")
    if order is MessageOrder.NEWEST and after_id is not None:
        raise DomainError("after_id pages oldest first: leave out order=newest")
    cursor = after_id if order is MessageOrder.OLDEST else before_id
    anchor = await _anchor(session, principal, conversation.id, cursor)
    messages = await _thread_messages(
        session,
        principal,
        conversation.id,
        anchor=anchor,
        newest_first=order is MessageOrder.NEWEST,
        limit=size + 1,
    )
    more = len(messages) > size
    messages = messages[:size]
    return Page([message_view(m) for m in messages], str(messages[-1].id) if more else None)


@dataclass(frozen=True, slots=True)
class Timeline:
    """One screenful of a conversation, oldest first, and the cursor to the one before it."""

    messages: list[dict[str, Any]]
    # The `before_id` that shows the messages before these; None when these start the thread.
    earlier_before_id: int | None


async def conversation_timeline(
    session: AsyncSession,
    principal: Principal,
    conversation_id: int,
    *,
    before_id: int | None = None,
    limit: int = TIMELINE_PAGE,
) -> Timeline:
    """The newest `limit` messages of the conversation (before `before_id`, if given), in
    reading order, in one query: what its page shows. A conversation the principal may not
    see has none here; say so with `conversation_detail` first."""
    if not 1 <= limit <= MAX_PAGE:
        raise DomainError(f"limit must be between 1 and {MAX_PAGE}")
    anchor = await _anchor(session, principal, conversation_id, before_id)
    newest = await _thread_messages(
        session, principal, conversation_id, anchor=anchor, newest_first=True, limit=limit + 1
    )
    more = len(newest) > limit
    shown = newest[:limit]
    shown.reverse()
    return Timeline([message_view(m) for m in shown], shown[0].id if more else None)


async def _anchor(
    session: AsyncSession, principal: Principal, conversation_id: int, message_id: int | None
) -> t.Message | None:
    if message_id is None:
        return None
    anchor = await get_scoped(session, t.Message, principal.workspace_id, message_id)
    if anchor.conversation_id != conversation_id:
        raise NotFound(f"message {message_id} not found in conversation {conversation_id}")
    return anchor


async def _thread_messages(
    session: AsyncSession,
    principal: Principal,
    conversation_id: int,
    *,
    anchor: t.Message | None = None,
    newest_first: bool = False,
    limit: int,
) -> list[t.Message]:
    """Up to `limit` messages of a conversation the principal may see, by (created_at, id):
    after `anchor` oldest first, or before it newest first (an ordered scan of
    ix_messages_conversation_created either way)."""
    statement = _visible_messages(principal, t.Message.conversation_id == conversation_id)
    if anchor is not None:
        statement = statement.where(_before(anchor) if newest_first else _after(anchor))
    order = (
        (t.Message.created_at.desc(), t.Message.id.desc())
        if newest_first
        else (t.Message.created_at, t.Message.id)
    )
    rows = await session.execute(statement.order_by(*order).limit(limit))
    return list(rows.scalars())


def _visible_messages(principal: Principal, which: ColumnElement[bool]) -> Select[t.Message]:
    """The workspace's messages matching `which`, in conversations the principal may see."""
    ws = principal.workspace_id
    return (
        select(t.Message)
        .join(t.Conversation, t.Conversation.id == t.Message.conversation_id)
        .where(
            t.Message.workspace_id == ws,
            t.Conversation.workspace_id == ws,
            which,
            visible_conversations(principal),
        )
    )


def _before(anchor: t.Message) -> ColumnElement[bool]:
    """Messages before `anchor` by (created_at, id)."""
    return or_(
        t.Message.created_at < anchor.created_at,
        and_(t.Message.created_at == anchor.created_at, t.Message.id < anchor.id),
    )


def _after(anchor: t.Message) -> ColumnElement[bool]:
    """Messages after `anchor` by (created_at, id)."""
    return or_(
        t.Message.created_at > anchor.created_at,
        and_(t.Message.created_at == anchor.created_at, t.Message.id > anchor.id),
    )
