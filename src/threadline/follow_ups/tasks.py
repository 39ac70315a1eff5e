"""Tasks: follow-ups and callbacks with a due time, an assignee and a channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.conversations.queries import visible_conversations
from threadline.core.lookups import get_scoped, get_visible_conversation
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import task_view
from threadline.domain.channels import Channel
from threadline.domain.errors import DomainError, NotFound
from threadline.domain.events import TaskCreated, TaskUpdated
from threadline.domain.security.access import Principal
from threadline.domain.tasks import TaskKind, TaskStatus, check_task_editable


@dataclass(frozen=True, slots=True)
class TaskFilter:
    status: TaskStatus | None = None
    assignee_id: int | None = None
    due_before: datetime | None = None
    # Only open tasks past their due time at `now` (callbacks not returned in time, say).
    overdue_at: datetime | None = None
    # Only the tasks of this conversation.
    conversation_id: int | None = None


@dataclass(frozen=True, slots=True)
class NewTask:
    title: str
    due_at: datetime
    kind: TaskKind = TaskKind.FOLLOW_UP
    note: str | None = None
    channel: Channel | None = None
    customer_id: int | None = None
    conversation_id: int | None = None
    assignee_id: int | None = None
    team_id: int | None = None


def task_visible_to(principal: Principal) -> ColumnElement[bool]:
    """A task of a conversation is seen by whoever may see that conversation; the agent it is
    given to sees it too (it is their work), and a task of no conversation everyone."""
    conversation_visible = exists().where(
        t.Conversation.id == t.Task.conversation_id, visible_conversations(principal)
    )
    mine = t.Task.assignee_id == principal.agent_id if principal.agent_id is not None else false()
    return or_(t.Task.conversation_id.is_(None), mine, conversation_visible)


async def list_tasks(
    session: AsyncSession, principal: Principal, task_filter: TaskFilter
) -> list[t.Task]:
    query = select(t.Task).where(
        t.Task.workspace_id == principal.workspace_id, task_visible_to(principal)
    )
    if task_filter.status is not None:
        query = query.where(t.Task.status == task_filter.status.value)
    if task_filter.assignee_id is not None:
        query = query.where(t.Task.assignee_id == task_filter.assignee_id)
    if task_filter.due_before is not None:
        query = query.where(t.Task.due_at < task_filter.due_before)
    if task_filter.conversation_id is not None:
        query = query.where(t.Task.conversation_id == task_filter.conversation_id)
    if task_filter.overdue_at is not None:
        query = query.where(
            t.Task.status == TaskStatus.OPEN.value, t.Task.due_at < task_filter.overdue_at
        )
    rows = await session.execute(query.order_by(t.Task.due_at, t.Task.id))
    return list(rows.scalars())


async def _check_references(
    session: AsyncSession,
    principal: Principal,
    *,
    customer_id: int | None,
    conversation_id: int | None,
    assignee_id: int | None,
    team_id: int | None,
) -> int | None:
    """Checks every referenced row is in the caller's workspace; returns the customer id."""
    ws = principal.workspace_id
    if conversation_id is not None:
        conversation = await get_visible_conversation(session, principal, conversation_id)
        if customer_id is not None and customer_id != conversation.customer_id:
            raise DomainError(
                f"conversation {conversation_id} is not a conversation of customer {customer_id}"
            )
        customer_id = conversation.customer_id
    elif customer_id is not None:
        await get_scoped(session, t.Customer, ws, customer_id)
    if assignee_id is not None:
        assignee = await get_scoped(session, t.Agent, ws, assignee_id)
        if not assignee.active:
            raise DomainError(f"agent {assignee_id} is deactivated and cannot take tasks")
    if team_id is not None:
        await get_scoped(session, t.Team, ws, team_id)
    return customer_id


async def create_task(uow: UnitOfWork, principal: Principal, new: NewTask) -> t.Task:
    if not new.title.strip():
        raise DomainError("a task needs a title")
    session = uow.session
    customer_id = await _check_references(
        session,
        principal,
        customer_id=new.customer_id,
        conversation_id=new.conversation_id,
        assignee_id=new.assignee_id,
        team_id=new.team_id,
    )
    task = t.Task(
        workspace_id=principal.workspace_id,
        customer_id=customer_id,
        conversation_id=new.conversation_id,
        kind=new.kind.value,
        title=new.title.strip(),
        note=new.note,
        channel=new.channel.value if new.channel else None,
        due_at=new.due_at,
        assignee_id=new.assignee_id,
        team_id=new.team_id,
        status=TaskStatus.OPEN.value,
        created_at=uow.clock.now(),
    )
    session.add(task)
    await session.flush()
    uow.emit(principal.workspace_id, TaskCreated(task_view(task, uow.clock.now())))
    return task


async def update_task(
    uow: UnitOfWork, principal: Principal, task_id: int, changes: dict[str, Any]
) -> t.Task:
    """Completes or cancels (`status`), re-plans (`due_at`), reassigns (`assignee_id`,
    `team_id`; None clears) or edits (`title`, `note`). Only the keys given are changed."""
    session = uow.session
    task = await get_scoped(session, t.Task, principal.workspace_id, task_id, lock=True)
    visible = await session.execute(
        select(t.Task.id).where(t.Task.id == task.id, task_visible_to(principal))
    )
    if visible.first() is None:
        raise NotFound(f"task {task_id} not found")
    check_task_editable(TaskStatus(task.status))
    unknown = sorted(set(changes) - {"status", "due_at", "assignee_id", "team_id", "title", "note"})
    if unknown:
        raise DomainError(f"cannot change {', '.join(unknown)} of a task")
    if "assignee_id" in changes or "team_id" in changes:
        assignee_id = changes.get("assignee_id", task.assignee_id)
        team_id = changes.get("team_id", task.team_id)
        await _check_references(
            session,
            principal,
            customer_id=None,
            conversation_id=None,
            assignee_id=assignee_id,
            team_id=team_id,
        )
        task.assignee_id = assignee_id
        task.team_id = team_id
    if changes.get("due_at") is not None:
        task.due_at = changes["due_at"]
    if changes.get("title") is not None:
        title = str(changes["title"]).strip()
        if not title:
            raise DomainError("a task needs a title")
        task.title = title
    if "note" in changes:
        task.note = changes["note"]
    new_status = changes.get("status")
    if new_status is not None and TaskStatus(new_status) is not TaskStatus.OPEN:
        task.status = TaskStatus(new_status).value
        task.completed_at = uow.clock.now()
    await session.flush()
    uow.emit(principal.workspace_id, TaskUpdated(task_view(task, uow.clock.now())))
    return task
