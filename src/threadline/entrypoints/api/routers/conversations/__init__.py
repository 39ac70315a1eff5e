"""Conversations: the list, one conversation and its messages, and what agents do to it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import Field

from threadline.content import MAX_SUMMARY_LENGTH, WrapUp
from threadline.conversations import (
    KEEP,
    MAX_REPLY_LENGTH,
    ReplyRequest,
    ReplyTemplate,
    add_internal_note,
    assign,
    change_status,
    queries,
    reply,
    set_labels,
    set_priority,
)
from threadline.core.views import conversation_view, message_view
from threadline.domain.channels import Channel
from threadline.domain.conversations import ConversationStatus, Priority
from threadline.entrypoints.api.deps import PrincipalDep, RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import Moment, RowId, StrictBody

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])

Limit = Annotated[int | None, Query(ge=1, le=queries.MAX_PAGE)]


class StatusBody(StrictBody):
    """Resolving needs `wrap_up_code` (one of GET /api/v1/wrap-up-codes) and `summary`."""

    status: ConversationStatus
    snoozed_until: Moment | None = None
    wrap_up_code: str | None = Field(default=None, max_length=100)
    summary: str | None = Field(default=None, max_length=MAX_SUMMARY_LENGTH)


class AssignBody(StrictBody):
    """Send `assignee_id`, `team_id` or both; null clears, a field left out stays as it is."""

    assignee_id: RowId | None = None
    team_id: RowId | None = None


class PriorityBody(StrictBody):
    priority: Priority


class LabelsBody(StrictBody):
    labels: list[Annotated[str, Field(max_length=100)]] = Field(max_length=50)


class TemplateBody(StrictBody):
    """An approved WhatsApp template (see GET .../reply-options for the approved ones)."""

    name: str = Field(min_length=1, max_length=512)
    language: str = Field(min_length=2, max_length=20, examples=["en_US"])
    parameters: list[Annotated[str, Field(max_length=1024)]] = Field(
        default_factory=list, max_length=20
    )


class ReplyBody(StrictBody):
    text: str = Field(min_length=1, max_length=MAX_REPLY_LENGTH)
    channel: Channel | None = None
    inbox_id: RowId | None = None
    template: TemplateBody | None = None


class NoteBody(StrictBody):
    text: str = Field(min_length=1, max_length=20_000)


@router.get("")
async def list_conversations(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    status: ConversationStatus | None = None,
    assignee_id: RowId | None = None,
    team_id: RowId | None = None,
    channel: Channel | None = None,
    label: Annotated[str | None, Query(max_length=100)] = None,
    customer_id: RowId | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = None,
    unassigned: Annotated[bool, Query(description="Only conversations nobody owns")] = False,
    sla_due_before: Annotated[
        Moment | None, Query(description="Only those with a running SLA clock due before")
    ] = None,
) -> dict[str, Any]:
    filters = queries.ConversationFilters(
        status=status,
        assignee_id=assignee_id,
        team_id=team_id,
        channel=channel,
        label=label,
        customer_id=customer_id,
        unassigned=unassigned,
        sla_due_before=sla_due_before,
    )
    async with runtime.sessionmaker() as session:
        page = await queries.list_conversations(
            session, principal, filters, cursor=cursor, limit=limit
        )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/{conversation_id}")
async def get_conversation(
    conversation_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        return await queries.conversation_detail(session, principal, conversation_id)


@router.get("/{conversation_id}/messages")
async def get_conversation_messages(
    conversation_id: RowId,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    after_id: RowId | None = None,
    before_id: RowId | None = None,
    order: Annotated[
        queries.MessageOrder,
        Query(
            description="oldest: oldest first, then `after_id`; newest: newest first, then `before_id`"
        ),
    ] = queries.MessageOrder.OLDEST,
    limit: Limit = None,
) -> dict[str, Any]:
    """A page of the conversation's messages. `order=oldest` (the default) reads the thread
    from its start: pass `next_after_id` as `after_id` for the next page. `order=newest`
    starts at the latest message, as the conversation page does: pass `next_before_id` as
    `before_id` for the page before. The other cursor is null."""
    async with runtime.sessionmaker() as session:
        page = await queries.conversation_messages(
            session,
            principal,
            conversation_id,
            order=order,
            after_id=after_id,
            before_id=before_id,
            limit=limit,
        )
    cursor = int(page.next_cursor) if page.next_cursor is not None else None
    newest = order is queries.MessageOrder.NEWEST
    return {
        "items": page.items,
        "next_after_id": None if newest else cursor,
        "next_before_id": cursor if newest else None,
    }


@router.post("/{conversation_id}/status")
async def post_status(
    conversation_id: RowId, body: StatusBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        wrap_up = (
            WrapUp(body.wrap_up_code or "", body.summary or "")
            if body.wrap_up_code is not None or body.summary is not None
            else None
        )
        state = await change_status(
            uow, principal, conversation_id, body.status, body.snoozed_until, wrap_up
        )
        await uow.commit()
    return conversation_view(state.conversation, state.labels)


@router.post("/{conversation_id}/assign", responses=problem_responses(409))
async def post_assign(
    conversation_id: RowId, body: AssignBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    sent = body.model_fields_set
    async with runtime.uow() as uow:
        state = await assign(
            uow,
            principal,
            conversation_id,
            assignee_id=body.assignee_id if "assignee_id" in sent else KEEP,
            team_id=body.team_id if "team_id" in sent else KEEP,
        )
        await uow.commit()
    return conversation_view(state.conversation, state.labels)


@router.post("/{conversation_id}/priority")
async def post_priority(
    conversation_id: RowId, body: PriorityBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        state = await set_priority(uow, principal, conversation_id, body.priority)
        await uow.commit()
    return conversation_view(state.conversation, state.labels)


@router.put("/{conversation_id}/labels")
async def put_labels(
    conversation_id: RowId, body: LabelsBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        state = await set_labels(uow, principal, conversation_id, body.labels)
        await uow.commit()
    return conversation_view(state.conversation, state.labels)


@router.post("/{conversation_id}/replies", status_code=status.HTTP_201_CREATED)
async def post_reply(
    conversation_id: RowId, body: ReplyBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Queue a reply; it is sent by the outbound worker, and its status can be followed."""
    async with runtime.uow() as uow:
        message = await reply(
            uow,
            principal,
            ReplyRequest(
                conversation_id,
                body.text,
                body.channel,
                body.inbox_id,
                template=(
                    ReplyTemplate(
                        body.template.name, body.template.language, tuple(body.template.parameters)
                    )
                    if body.template
                    else None
                ),
            ),
        )
        await uow.commit()
    return message_view(message)


@router.post("/{conversation_id}/notes", status_code=status.HTTP_201_CREATED)
async def post_internal_note(
    conversation_id: RowId, body: NoteBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        note = await add_internal_note(uow, principal, conversation_id, body.text)
        await uow.commit()
    return message_view(note)
