"""Wrap-up: resolve a conversation with its code and summary, and plan a follow-up."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from threadline.content import MAX_SUMMARY_LENGTH, WrapUp
from threadline.conversations import FollowUpOwner, PlannedFollowUp, wrap_up_conversation
from threadline.core.views import conversation_view, task_view
from threadline.domain.channels import Channel
from threadline.entrypoints.api.deps import PrincipalDep, RuntimeDep
from threadline.entrypoints.api.schemas import Moment, RowId, StrictBody

router = APIRouter(prefix="/api/v1/conversations", tags=["wrap-up"])


class FollowUpBody(StrictBody):
    due_at: Moment
    channel: Channel | None = None
    note: str = Field(min_length=1, max_length=20_000)
    assignee: FollowUpOwner = FollowUpOwner.ME


class WrapUpBody(StrictBody):
    code: str = Field(min_length=1, max_length=100)
    summary: str = Field(min_length=1, max_length=MAX_SUMMARY_LENGTH)
    follow_up: FollowUpBody | None = None


@router.post("/{conversation_id}/wrap-up")
async def post_wrap_up(
    conversation_id: RowId, body: WrapUpBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Resolves the conversation; with `follow_up`, a task brings it back at `due_at`."""
    follow_up = (
        PlannedFollowUp(
            body.follow_up.due_at,
            body.follow_up.channel,
            body.follow_up.note,
            body.follow_up.assignee,
        )
        if body.follow_up is not None
        else None
    )
    async with runtime.uow() as uow:
        done = await wrap_up_conversation(
            uow, principal, conversation_id, WrapUp(body.code, body.summary), follow_up
        )
        await uow.commit()
        now = runtime.clock.now()
        return {
            "conversation": conversation_view(done.state.conversation, done.state.labels),
            "follow_up": task_view(done.task, now) if done.task is not None else None,
        }
