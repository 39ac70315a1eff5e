"""wrap_up: resolve a conversation with its classification and, optionally, plan the next step.

Both land in one transaction: the resolution (code, summary, CSAT planned) and the follow-up
task with its durable due timer (armed by follow_ups/due.py on task.created).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from threadline.adapters.db import tables as t
from threadline.content.wrap_up_codes import WrapUp
from threadline.conversations.actions import ConversationState, change_status
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.channels import Channel
from threadline.domain.conversations import ConversationStatus
from threadline.domain.errors import DomainError
from threadline.domain.security.access import Principal
from threadline.domain.tasks import TaskKind
from threadline.follow_ups.tasks import NewTask, create_task

MAX_TITLE_LENGTH = 300


class FollowUpOwner(StrEnum):
    ME = "me"  # the agent who wraps up
    TEAM = "team"  # the conversation's team, for whoever is free then


@dataclass(frozen=True, slots=True)
class PlannedFollowUp:
    due_at: datetime
    channel: Channel | None
    note: str
    owner: FollowUpOwner = FollowUpOwner.ME


@dataclass(frozen=True, slots=True)
class WrappedUp:
    state: ConversationState
    task: t.Task | None


async def wrap_up_conversation(
    uow: UnitOfWork,
    principal: Principal,
    conversation_id: int,
    wrap_up: WrapUp,
    follow_up: PlannedFollowUp | None = None,
) -> WrappedUp:
    if follow_up is not None:
        _check_follow_up(follow_up, uow.clock.now())
    state = await change_status(
        uow,
        principal,
        conversation_id,
        ConversationStatus.RESOLVED,
        wrap_up=wrap_up,
        with_follow_up=follow_up is not None,
    )
    if follow_up is None:
        return WrappedUp(state, None)
    conversation = state.conversation
    assignee_id: int | None = None
    team_id: int | None = None
    if follow_up.owner is FollowUpOwner.ME:
        if principal.agent_id is None:
            raise DomainError("an API key has no agent to come back to: plan it for the team")
        assignee_id = principal.agent_id
    else:
        if conversation.team_id is None:
            raise DomainError("the conversation has no team to plan the follow-up for")
        team_id = conversation.team_id
    note = follow_up.note.strip()
    task = await create_task(
        uow,
        principal,
        NewTask(
            title=f"Follow up: {note}"[:MAX_TITLE_LENGTH],
            due_at=follow_up.due_at,
            kind=TaskKind.FOLLOW_UP,
            note=note,
            channel=follow_up.channel,
            conversation_id=conversation.id,
            assignee_id=assignee_id,
            team_id=team_id,
        ),
    )
    return WrappedUp(state, task)


def _check_follow_up(follow_up: PlannedFollowUp, now: datetime) -> None:
    if follow_up.due_at.tzinfo is None:
        raise DomainError("a follow-up's due time needs a time zone, e.g. 2026-11-02T09:00:00Z")
    if follow_up.due_at <= now:
        raise DomainError("a follow-up is due in the future")
    if not follow_up.note.strip():
        raise DomainError("a follow-up needs a note saying what to do")
