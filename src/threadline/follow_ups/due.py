"""Planned follow-ups: at its due time a follow-up task brings its conversation back.

Every open follow-up task tied to a conversation has a durable `task.due` timer keyed by the
task. Re-planning moves the timer; completing or cancelling the task disarms it. When it
fires, the conversation re-opens, goes back to the task's agent (or team) and the timeline
shows "Follow-up due: <note>".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from threadline.adapters.db import tables as t
from threadline.conversations.actions import labels_of
from threadline.conversations.reopen import reopen_conversation, reopened_view
from threadline.core.handlers import HandlerMap, on
from threadline.core.lookups import find_scoped
from threadline.core.timers import TimerHandlerMap, cancel_timer, schedule_timer, timer_key
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import conversation_scope, conversation_view, message_view, task_view
from threadline.domain.conversations import DeliveryStatus, Direction, ReopenCause
from threadline.domain.events import ConversationUpdated, MessageCreated, TaskCreated, TaskUpdated
from threadline.domain.tasks import TaskKind, TaskStatus

TASK_DUE = "task.due"
# The reason on the events the due handler emits; on task.updated it also tells
# keep_due_timer not to re-arm the timer that has just fired.
FOLLOW_UP_DUE = "follow_up_due"


def task_timer_key(task_id: int) -> str:
    return timer_key(TASK_DUE, task_id)


def _brings_conversation_back(task: t.Task) -> bool:
    return task.kind == TaskKind.FOLLOW_UP.value and task.conversation_id is not None


async def _task_of_event(
    uow: UnitOfWork, workspace_id: int, event: TaskCreated | TaskUpdated
) -> t.Task | None:
    task_id = event.task_id
    if task_id is None:
        return None
    task = await uow.session.get(t.Task, task_id)
    if task is None or task.workspace_id != workspace_id:
        return None
    return task


async def keep_due_timer(
    uow: UnitOfWork, workspace_id: int, event: TaskCreated | TaskUpdated
) -> None:
    if isinstance(event, TaskUpdated) and event.reason == FOLLOW_UP_DUE:
        return
    task = await _task_of_event(uow, workspace_id, event)
    if task is None:
        return
    if task.status != TaskStatus.OPEN.value or not _brings_conversation_back(task):
        await cancel_timer(uow, workspace_id, task_timer_key(task.id))
        return
    await schedule_timer(
        uow,
        workspace_id,
        kind=TASK_DUE,
        key=task_timer_key(task.id),
        fire_at=task.due_at,
        payload={"task_id": task.id},
    )


async def follow_up_due(
    uow: UnitOfWork, workspace_id: int, payload: dict[str, Any], fired_at: datetime
) -> None:
    session = uow.session
    task = await find_scoped(session, t.Task, workspace_id, payload["task_id"], lock=True)
    if task is None or task.status != TaskStatus.OPEN.value or task.conversation_id is None:
        return
    conversation = await find_scoped(
        session, t.Conversation, workspace_id, task.conversation_id, lock=True
    )
    if conversation is None:
        return
    await _hand_back(uow, conversation, task)
    channel = task.channel or conversation.last_inbound_channel or "api"
    reopening = await reopen_conversation(
        uow, conversation, ReopenCause.FOLLOW_UP_DUE, channel=channel, at=fired_at
    )
    message = _due_message(conversation, task, channel, fired_at)
    session.add(message)
    conversation.last_message_at = fired_at
    await session.flush()
    labels = await labels_of(session, conversation.id)
    uow.emit(
        workspace_id,
        ConversationUpdated(
            conversation_view(conversation, labels),
            reason=FOLLOW_UP_DUE,
            reopened=reopened_view(reopening),
        ),
    )
    uow.emit(
        workspace_id,
        MessageCreated(message_view(message), conversation_scope(conversation)),
    )
    uow.emit(
        workspace_id,
        TaskUpdated({**task_view(task), "overdue": False}, reason=FOLLOW_UP_DUE),
    )


async def _hand_back(uow: UnitOfWork, conversation: t.Conversation, task: t.Task) -> None:
    """Back to the task's agent while they are active, else to the task's team."""
    assignee = await uow.session.get(t.Agent, task.assignee_id) if task.assignee_id else None
    if assignee is not None and assignee.active:
        conversation.assignee_id = assignee.id
    elif task.team_id is not None:
        # Back to the team's queue, for whoever of the team is free.
        conversation.team_id = task.team_id
        conversation.assignee_id = None


def _due_message(
    conversation: t.Conversation, task: t.Task, channel: str, fired_at: datetime
) -> t.Message:
    """The timeline's "Follow-up due: <note>" line."""
    note = (task.note or task.title).strip()
    return t.Message(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        inbox_id=None,
        channel=channel,
        direction=Direction.SYSTEM.value,
        author_agent_id=None,
        sender_identity=None,
        text=f"Follow-up due: {note}",
        html=None,
        attachments=[],
        delivery_status=DeliveryStatus.RECEIVED.value,
        meta={"task_id": task.id, "follow_up": {"channel": task.channel}},
        created_at=fired_at,
    )


EVENT_HANDLERS: HandlerMap = (
    on(TaskCreated, keep_due_timer),
    on(TaskUpdated, keep_due_timer),
)

TIMER_HANDLERS: TimerHandlerMap = {TASK_DUE: follow_up_due}
