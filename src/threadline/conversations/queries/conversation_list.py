"""The conversation list: filtered, latest activity first, paged by (last_message_at, id)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.conversations.queries.conversation_views import conversation_views
from threadline.conversations.queries.paging import Page, page_size
from threadline.conversations.queries.visibility import visible_conversations
from threadline.domain.bounds import checked_moment, row_id_from_text
from threadline.domain.channels import Channel
from threadline.domain.conversations import ConversationStatus
from threadline.domain.errors import DomainError
from threadline.domain.security.access import Principal


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
    size = page_size(limit)
    statement = _matching(principal, filters)
    if cursor is not None:
        statement = statement.where(_listed_after(*decode_conversation_cursor(cursor)))
    conversations = await _latest_first(session, statement, size + 1)
    more = len(conversations) > size
    conversations = conversations[:size]
    next_cursor = (
        encode_conversation_cursor(conversations[-1].last_message_at, conversations[-1].id)
        if more
        else None
    )
    return conversations, Page(await conversation_views(session, conversations), next_cursor)


def _matching(principal: Principal, filters: ConversationFilters) -> Select[t.Conversation]:
    ws = principal.workspace_id
    statement = select(t.Conversation).where(
        t.Conversation.workspace_id == ws, visible_conversations(principal)
    )
    for condition in _filter_conditions(ws, filters):
        statement = statement.where(condition)
    return statement


def _filter_conditions(ws: int, filters: ConversationFilters) -> list[ColumnElement[bool]]:
    """One condition per filter given, in a fixed order."""
    conditions: list[ColumnElement[bool]] = []
    if filters.status is not None:
        conditions.append(t.Conversation.status == filters.status.value)
    if filters.unassigned:
        conditions.append(t.Conversation.assignee_id.is_(None))
    elif filters.assignee_id is not None:
        conditions.append(t.Conversation.assignee_id == filters.assignee_id)
    if filters.sla_due_before is not None:
        conditions.append(_sla_due_before(ws, filters.sla_due_before))
    if filters.team_id is not None:
        conditions.append(t.Conversation.team_id == filters.team_id)
    if filters.customer_id is not None:
        conditions.append(t.Conversation.customer_id == filters.customer_id)
    if filters.channel is not None:
        conditions.append(_used_channel(ws, filters.channel))
    if filters.label is not None:
        conditions.append(_labelled(ws, filters.label.strip()))
    return conditions


def _sla_due_before(ws: int, moment: datetime) -> ColumnElement[bool]:
    """A running (neither stopped nor paused) SLA clock falls due before `moment`."""
    return t.Conversation.id.in_(
        select(t.SlaClock.conversation_id).where(
            t.SlaClock.workspace_id == ws,
            t.SlaClock.stopped_at.is_(None),
            t.SlaClock.paused_at.is_(None),
            t.SlaClock.due_at < moment,
        )
    )


def _used_channel(ws: int, channel: Channel) -> ColumnElement[bool]:
    return t.Conversation.id.in_(
        select(t.ConversationChannel.conversation_id).where(
            t.ConversationChannel.workspace_id == ws,
            t.ConversationChannel.channel == channel.value,
        )
    )


def _labelled(ws: int, label: str) -> ColumnElement[bool]:
    return t.Conversation.id.in_(
        select(t.ConversationLabel.conversation_id).where(
            t.ConversationLabel.workspace_id == ws,
            t.ConversationLabel.label == label,
        )
    )


def _listed_after(after_at: datetime, after_id: int) -> ColumnElement[bool]:
    """Below the cursor in the list's order (latest activity first, then the higher id)."""
    return or_(
        t.Conversation.last_message_at < after_at,
        and_(t.Conversation.last_message_at == after_at, t.Conversation.id < after_id),
    )


async def _latest_first(
    session: AsyncSession, statement: Select[t.Conversation], limit: int
) -> list[t.Conversation]:
    ordered = statement.order_by(t.Conversation.last_message_at.desc(), t.Conversation.id.desc())
    return list((await session.execute(ordered.limit(limit))).scalars())
