"""Read-side queries for the API: searching, the customer card, timelines and lists.

Reads open no unit of work and emit nothing; every query is scoped to the principal's
workspace and, for conversations, to what the principal may see.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_scoped, get_visible_conversation, get_workspace
from threadline.core.views import (
    conversation_view,
    customer_view,
    message_view,
    note_view,
    offer_view,
    task_view,
)
from threadline.domain.access import Principal, Role
from threadline.domain.bounds import checked_moment, row_id_from_text
from threadline.domain.channels import Channel
from threadline.domain.conversations import ConversationStatus
from threadline.domain.errors import DomainError, InvalidIdentity, NotFound
from threadline.domain.identities import normalise_email, normalise_phone

MAX_PAGE = 100
# How many of a conversation's messages its page shows at once: the newest, with "load
# earlier messages" for the ones before (a long conversation is never loaded whole).
TIMELINE_PAGE = 50
CARD_LIST_LIMIT = 50


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def page_size(limit: int | None, default: int = 50) -> int:
    if limit is None:
        return default
    if not 1 <= limit <= MAX_PAGE:
        raise DomainError(f"limit must be between 1 and {MAX_PAGE}")
    return limit


def visible_conversations(principal: Principal) -> ColumnElement[bool]:
    """The SQL form of `can_see_conversation`, for lists and timelines."""
    if principal.role is not Role.AGENT or principal.agents_see_all:
        return true()
    mine = (
        t.Conversation.assignee_id == principal.agent_id
        if principal.agent_id is not None
        else false()
    )
    my_teams = (
        t.Conversation.team_id.in_(sorted(principal.team_ids)) if principal.team_ids else false()
    )
    unrouted = and_(t.Conversation.team_id.is_(None), t.Conversation.assignee_id.is_(None))
    return or_(mine, my_teams, unrouted)


# Customers ---------------------------------------------------------------------------------


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _identity_spellings(query: str, default_region: str) -> set[str]:
    """The query as typed, plus its normalised form when it reads as an email or a phone,
    so "0048 601 234 567" finds +48601234567."""
    spellings = {query}
    if "@" in query:
        try:
            spellings.add(normalise_email(query))
        except InvalidIdentity:
            pass
    elif any(ch.isdigit() for ch in query):
        try:
            spellings.add(normalise_phone(query, default_region))
        except InvalidIdentity:
            pass
    return spellings


async def search_customers(
    session: AsyncSession,
    principal: Principal,
    query: str | None,
    *,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page:
    """Customers whose name contains `query` (any case) or who have an identity spelled
    like it; newest first, paged by customer id. Merged-away customers are left out."""
    ws = principal.workspace_id
    size = page_size(limit)
    statement = select(t.Customer).where(
        t.Customer.workspace_id == ws, t.Customer.merged_into_id.is_(None)
    )
    text = (query or "").strip()
    if text:
        workspace = await get_workspace(session, ws)
        spellings = _identity_spellings(text, workspace.default_region)
        pattern = _like_pattern(text)
        by_identity = select(t.Identity.customer_id).where(
            t.Identity.workspace_id == ws,
            or_(t.Identity.value.in_(sorted(spellings)), t.Identity.value.ilike(pattern, "\\")),
        )
        statement = statement.where(
            or_(t.Customer.name.ilike(pattern, "\\"), t.Customer.id.in_(by_identity))
        )
    if cursor is not None:
        statement = statement.where(t.Customer.id < _int_cursor(cursor))
    customers = list(
        (await session.execute(statement.order_by(t.Customer.id.desc()).limit(size + 1)))
        .scalars()
        .all()
    )
    more = len(customers) > size
    customers = customers[:size]
    identities = await _identities_by_customer(session, ws, [c.id for c in customers])
    items = [customer_view(c, identities.get(c.id, [])) for c in customers]
    return Page(items, str(customers[-1].id) if more else None)


def _int_cursor(cursor: str) -> int:
    value = row_id_from_text(cursor)
    if value is None:
        raise DomainError(f"invalid cursor {cursor!r}")
    return value


async def _identities_by_customer(
    session: AsyncSession, workspace_id: int, customer_ids: list[int]
) -> dict[int, list[t.Identity]]:
    if not customer_ids:
        return {}
    rows = await session.execute(
        select(t.Identity)
        .where(t.Identity.workspace_id == workspace_id, t.Identity.customer_id.in_(customer_ids))
        .order_by(t.Identity.id)
    )
    grouped: dict[int, list[t.Identity]] = {}
    for identity in rows.scalars():
        grouped.setdefault(identity.customer_id, []).append(identity)
    return grouped


async def customer_card(
    session: AsyncSession, principal: Principal, customer_id: int, now: datetime
) -> dict[str, Any]:
    """Everything an agent needs on a new contact: who, what was promised (offers as they
    stand at `now`: expired ones as expired), what is due, and every matter so far."""
    ws = principal.workspace_id
    customer = await get_scoped(session, t.Customer, ws, customer_id)
    identities = (await _identities_by_customer(session, ws, [customer.id])).get(customer.id, [])
    notes = (
        await session.execute(
            select(t.Note)
            .where(t.Note.workspace_id == ws, t.Note.customer_id == customer.id)
            .order_by(t.Note.created_at.desc(), t.Note.id.desc())
            .limit(CARD_LIST_LIMIT)
        )
    ).scalars()
    offers = (
        await session.execute(
            select(t.Offer)
            .where(t.Offer.workspace_id == ws, t.Offer.customer_id == customer.id)
            .order_by(t.Offer.created_at.desc(), t.Offer.id.desc())
            .limit(CARD_LIST_LIMIT)
        )
    ).scalars()
    tasks = (
        await session.execute(
            select(t.Task)
            .where(
                t.Task.workspace_id == ws,
                t.Task.customer_id == customer.id,
                t.Task.status == "open",
            )
            .order_by(t.Task.due_at, t.Task.id)
            .limit(CARD_LIST_LIMIT)
        )
    ).scalars()
    conversations = list(
        (
            await session.execute(
                select(t.Conversation)
                .where(
                    t.Conversation.workspace_id == ws,
                    t.Conversation.customer_id == customer.id,
                    visible_conversations(principal),
                )
                .order_by(t.Conversation.last_message_at.desc(), t.Conversation.id.desc())
            )
        ).scalars()
    )
    counts = {status.value: 0 for status in ConversationStatus}
    for conversation in conversations:
        counts[conversation.status] = counts.get(conversation.status, 0) + 1
    return {
        "customer": customer_view(customer, identities),
        "notes": [note_view(n) for n in notes],
        "offers": [offer_view(o, now) for o in offers],
        "open_tasks": [task_view(k, now) for k in tasks],
        "conversations": {
            "total": len(conversations),
            "by_status": counts,
            "recent": await _conversation_views(session, conversations[:CARD_LIST_LIMIT]),
        },
    }


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
    statement = (
        select(t.Message)
        .join(t.Conversation, t.Conversation.id == t.Message.conversation_id)
        .where(
            t.Message.workspace_id == ws,
            t.Conversation.workspace_id == ws,
            t.Conversation.customer_id == customer.id,
            visible_conversations(principal),
        )
    )
    if before_id is not None:
        anchor = await get_scoped(session, t.Message, ws, before_id)
        statement = statement.where(
            or_(
                t.Message.created_at < anchor.created_at,
                and_(t.Message.created_at == anchor.created_at, t.Message.id < anchor.id),
            )
        )
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


# Conversations -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConversationFilters:
    status: ConversationStatus | None = None
    assignee_id: int | None = None
    team_id: int | None = None
    channel: Channel | None = None
    label: str | None = None
    customer_id: int | None = None
    # Only conversations nobody owns (assignee_id is then ignored).
    unassigned: bool = False
    # Only conversations with a running SLA clock due before this moment.
    sla_due_before: datetime | None = None


def encode_conversation_cursor(last_message_at: datetime, conversation_id: int) -> str:
    raw = f"{last_message_at.isoformat()}|{conversation_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_conversation_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, _, raw_id = base64.urlsafe_b64decode(padded).decode().partition("|")
        when = checked_moment(datetime.fromisoformat(moment))
        conversation_id = row_id_from_text(raw_id)
        if conversation_id is None:
            raise ValueError("not an id")
        return when, conversation_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise DomainError(f"invalid cursor {cursor!r}") from exc


async def list_conversations(
    session: AsyncSession,
    principal: Principal,
    filters: ConversationFilters,
    *,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page:
    """Conversations with the latest activity first, paged by (last_message_at, id)."""
    _, page = await list_conversation_rows(session, principal, filters, cursor=cursor, limit=limit)
    return page


async def list_conversation_rows(
    session: AsyncSession,
    principal: Principal,
    filters: ConversationFilters,
    *,
    cursor: str | None = None,
    limit: int | None = None,
) -> tuple[list[t.Conversation], Page]:
    """`list_conversations`, with the rows its views were made from (in the same order), for
    callers that need more of a conversation than its view (the queue's positions, say)."""
    ws = principal.workspace_id
    size = page_size(limit)
    statement = select(t.Conversation).where(
        t.Conversation.workspace_id == ws, visible_conversations(principal)
    )
    if filters.status is not None:
        statement = statement.where(t.Conversation.status == filters.status.value)
    if filters.unassigned:
        statement = statement.where(t.Conversation.assignee_id.is_(None))
    elif filters.assignee_id is not None:
        statement = statement.where(t.Conversation.assignee_id == filters.assignee_id)
    if filters.sla_due_before is not None:
        statement = statement.where(
            t.Conversation.id.in_(
                select(t.SlaClock.conversation_id).where(
                    t.SlaClock.workspace_id == ws,
                    t.SlaClock.stopped_at.is_(None),
                    t.SlaClock.paused_at.is_(None),
                    t.SlaClock.due_at < filters.sla_due_before,
                )
            )
        )
    if filters.team_id is not None:
        statement = statement.where(t.Conversation.team_id == filters.team_id)
    if filters.customer_id is not None:
        statement = statement.where(t.Conversation.customer_id == filters.customer_id)
    if filters.channel is not None:
        statement = statement.where(
            t.Conversation.id.in_(
                select(t.ConversationChannel.conversation_id).where(
                    t.ConversationChannel.workspace_id == ws,
                    t.ConversationChannel.channel == filters.channel.value,
                )
            )
        )
    if filters.label is not None:
        statement = statement.where(
            t.Conversation.id.in_(
                select(t.ConversationLabel.conversation_id).where(
                    t.ConversationLabel.workspace_id == ws,
                    t.ConversationLabel.label == filters.label.strip(),
                )
            )
        )
    if cursor is not None:
        after_at, after_id = decode_conversation_cursor(cursor)
        statement = statement.where(
            or_(
                t.Conversation.last_message_at < after_at,
                and_(t.Conversation.last_message_at == after_at, t.Conversation.id < after_id),
            )
        )
    conversations = list(
        (
            await session.execute(
                statement.order_by(
                    t.Conversation.last_message_at.desc(), t.Conversation.id.desc()
                ).limit(size + 1)
            )
        ).scalars()
    )
    more = len(conversations) > size
    conversations = conversations[:size]
    next_cursor = (
        encode_conversation_cursor(conversations[-1].last_message_at, conversations[-1].id)
        if more
        else None
    )
    return conversations, Page(await _conversation_views(session, conversations), next_cursor)


async def conversation_detail(
    session: AsyncSession, principal: Principal, conversation_id: int
) -> dict[str, Any]:
    conversation = await get_visible_conversation(session, principal, conversation_id)
    return (await _conversation_views(session, [conversation]))[0]


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
    ws = principal.workspace_id
    statement = (
        select(t.Message)
        .join(t.Conversation, t.Conversation.id == t.Message.conversation_id)
        .where(
            t.Message.workspace_id == ws,
            t.Message.conversation_id == conversation_id,
            t.Conversation.workspace_id == ws,
            visible_conversations(principal),
        )
    )
    if anchor is not None and newest_first:
        statement = statement.where(
            or_(
                t.Message.created_at < anchor.created_at,
                and_(t.Message.created_at == anchor.created_at, t.Message.id < anchor.id),
            )
        )
    elif anchor is not None:
        statement = statement.where(
            or_(
                t.Message.created_at > anchor.created_at,
                and_(t.Message.created_at == anchor.created_at, t.Message.id > anchor.id),
            )
        )
    order = (
        (t.Message.created_at.desc(), t.Message.id.desc())
        if newest_first
        else (t.Message.created_at, t.Message.id)
    )
    rows = await session.execute(statement.order_by(*order).limit(limit))
    return list(rows.scalars())


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


async def _conversation_views(
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
