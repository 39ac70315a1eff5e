"""Notifications for one agent: a note that @mentions them (see domain/messaging/mentions.py).

A mention is resolved inside the transaction that stores the note, among the active agents of
the note's workspace only, so an agent of another workspace is never reached. In a
conversation, only agents who may see that conversation are notified. Each notification is
stored (GET /api/v1/notifications) and announced by an `agent.mentioned` event that only the
mentioned agent receives on the event stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.audit import record_change
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import iso
from threadline.domain.errors import NotFound
from threadline.domain.events import AgentMentioned
from threadline.domain.messaging.mentions import (
    MentionableAgent,
    excerpt,
    mention_handles,
    resolve_mentions,
)
from threadline.domain.security.access import Principal, Role, can_see_conversation
from threadline.workspace.agents import team_ids_of

MENTION = "mention"
LIST_LIMIT = 100


def notification_view(n: t.Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind,
        "agent_id": n.agent_id,
        "author_agent_id": n.author_agent_id,
        "conversation_id": n.conversation_id,
        "customer_id": n.customer_id,
        "message_id": n.message_id,
        "note_id": n.note_id,
        "excerpt": n.excerpt,
        "created_at": iso(n.created_at),
        "read_at": iso(n.read_at),
    }


async def notify_mentions(
    uow: UnitOfWork,
    principal: Principal,
    text: str,
    *,
    conversation: t.Conversation | None = None,
    message: t.Message | None = None,
    customer_id: int | None = None,
    note: t.Note | None = None,
) -> list[int]:
    """Notify the agents `text` mentions; returns their ids. The author is never notified."""
    handles = mention_handles(text)
    if not handles:
        return []
    session = uow.session
    ws = principal.workspace_id
    mentioned = await _mentioned_agents(session, principal, handles, conversation)
    if message is not None:
        message.meta = {**(message.meta or {}), "mentions": mentioned}
    if not mentioned:
        return mentioned
    now = uow.clock.now()
    short = excerpt(text)
    rows = [
        t.Notification(
            workspace_id=ws,
            agent_id=agent_id,
            kind=MENTION,
            author_agent_id=principal.agent_id,
            conversation_id=conversation.id if conversation is not None else None,
            customer_id=conversation.customer_id if conversation is not None else customer_id,
            message_id=message.id if message is not None else None,
            note_id=note.id if note is not None else None,
            excerpt=short,
            created_at=now,
            read_at=None,
        )
        for agent_id in mentioned
    ]
    session.add_all(rows)
    await session.flush()
    for row in rows:
        uow.emit(
            ws,
            AgentMentioned(row.agent_id, notification_view(row)),
        )
    return mentioned


async def _mentioned_agents(
    session: AsyncSession,
    principal: Principal,
    handles: Sequence[str],
    conversation: t.Conversation | None,
) -> list[int]:
    """The active agents of the workspace the handles name, but the author; in a conversation,
    only those who may see it."""
    ws = principal.workspace_id
    agents = (
        await session.execute(
            select(t.Agent.id, t.Agent.email, t.Agent.role).where(
                t.Agent.workspace_id == ws, t.Agent.active.is_(True)
            )
        )
    ).all()
    roles = {agent_id: role for agent_id, _, role in agents}
    mentioned = [
        agent_id
        for agent_id in resolve_mentions(handles, [MentionableAgent(a, e) for a, e, _ in agents])
        if agent_id != principal.agent_id
    ]
    if conversation is not None:
        mentioned = await _who_can_see(session, ws, conversation, mentioned, roles)
    return mentioned


async def _who_can_see(
    session: AsyncSession,
    workspace_id: int,
    conversation: t.Conversation,
    agent_ids: list[int],
    roles: dict[int, str],
) -> list[int]:
    if not agent_ids:
        return []
    workspace = await session.get(t.Workspace, workspace_id)
    if workspace is not None and workspace.agents_see_all:
        return agent_ids
    teams = await team_ids_of(session, agent_ids)
    return [
        agent_id
        for agent_id in agent_ids
        if can_see_conversation(
            Principal(
                workspace_id=workspace_id,
                role=Role(roles[agent_id]),
                agent_id=agent_id,
                team_ids=frozenset(teams[agent_id]),
                agents_see_all=False,
            ),
            assignee_id=conversation.assignee_id,
            team_id=conversation.team_id,
        )
    ]


async def list_notifications(
    session: AsyncSession, principal: Principal, *, unread_only: bool = False
) -> dict[str, Any]:
    """The caller's own notifications, newest first, and how many are unread."""
    mine = (
        t.Notification.workspace_id == principal.workspace_id,
        t.Notification.agent_id == principal.agent_id,
    )
    stmt = select(t.Notification).where(*mine)
    if unread_only:
        stmt = stmt.where(t.Notification.read_at.is_(None))
    rows = await session.execute(
        stmt.order_by(t.Notification.created_at.desc(), t.Notification.id.desc()).limit(LIST_LIMIT)
    )
    unread = (
        await session.execute(
            select(func.count())
            .select_from(t.Notification)
            .where(*mine, t.Notification.read_at.is_(None))
        )
    ).scalar_one()
    return {"unread": unread, "notifications": [notification_view(n) for n in rows.scalars()]}


async def mark_read(uow: UnitOfWork, principal: Principal, notification_id: int) -> t.Notification:
    row = (
        await uow.session.execute(
            select(t.Notification).where(
                t.Notification.id == notification_id,
                t.Notification.workspace_id == principal.workspace_id,
                # Another agent's notification is as unknown as one that never existed.
                t.Notification.agent_id == principal.agent_id,
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"notification {notification_id} not found")
    if row.read_at is None:
        row.read_at = uow.clock.now()
        await uow.session.flush()
    return row


async def mark_all_read(uow: UnitOfWork, principal: Principal) -> int:
    result = await uow.session.execute(
        update(t.Notification)
        .where(
            t.Notification.workspace_id == principal.workspace_id,
            t.Notification.agent_id == principal.agent_id,
            t.Notification.read_at.is_(None),
        )
        .values(read_at=uow.clock.now())
    )
    marked = int(getattr(result, "rowcount", 0) or 0)
    await record_change(
        uow.session,
        principal.workspace_id,
        "notification.all_read",
        "notification",
        None,
        after={"marked_read": marked},
    )
    return marked
