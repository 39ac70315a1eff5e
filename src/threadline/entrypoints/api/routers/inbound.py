"""The API channel: apps, forms and integrations post customer messages here."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, status
from pydantic import Field

from threadline.conversations import receive_message
from threadline.delivery import report_delivery_status
from threadline.domain.channels import Channel, IdentityKind
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.entrypoints.api.deps import IntegrationDep, RuntimeDep
from threadline.entrypoints.api.schemas import Count, RowId, StrictBody

router = APIRouter(prefix="/api/v1/inbound", tags=["inbound"])


class IdentityBody(StrictBody):
    kind: IdentityKind
    value: str = Field(min_length=1, max_length=320)


class AttachmentBody(StrictBody):
    url: str = Field(max_length=2000)
    filename: str | None = Field(default=None, max_length=300)
    content_type: str | None = Field(default=None, max_length=200)
    size: Count | None = None


class InboundBody(StrictBody):
    inbox_id: RowId
    sender: IdentityBody
    other_identities: list[IdentityBody] = Field(default_factory=list, max_length=10)
    sender_name: str | None = Field(default=None, max_length=300)
    # Stand-ins for channels whose adapters arrive later may post as that channel.
    channel: Channel | None = None
    text: str = Field(default="", max_length=100_000)
    subject: str | None = Field(default=None, max_length=500)
    provider_message_id: str | None = Field(default=None, max_length=300)
    thread_refs: list[str] = Field(default_factory=list, max_length=50)
    attachments: list[AttachmentBody] = Field(default_factory=list, max_length=20)
    call: dict[str, Any] | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    automated: bool = Field(
        default=False,
        description="An auto-reply or notice: recorded, but it never re-opens the conversation",
    )


@router.post("/messages", status_code=status.HTTP_201_CREATED)
async def post_inbound_message(
    body: InboundBody, principal: IntegrationDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Store a customer's message; the response is sent only after it is committed.
    Workspace API keys only (403 for agents' tokens and session cookies)."""
    result = await receive_message(
        runtime.uow,
        principal.workspace_id,
        InboundMessage(
            inbox_id=body.inbox_id,
            sender=SenderIdentity(body.sender.kind, body.sender.value),
            other_identities=tuple(SenderIdentity(i.kind, i.value) for i in body.other_identities),
            sender_name=body.sender_name,
            channel=body.channel,
            text=body.text,
            subject=body.subject,
            provider_message_id=body.provider_message_id,
            thread_refs=tuple(body.thread_refs),
            attachments=tuple(a.model_dump(exclude_none=True) for a in body.attachments),
            call=body.call,
            meta=body.meta,
            automated=body.automated,
        ),
    )
    return {
        "message_id": result.message_id,
        "conversation_id": result.conversation_id,
        "customer_id": result.customer_id,
        "duplicate": result.duplicate,
    }


class StatusBody(StrictBody):
    message_id: RowId
    status: Literal["delivered", "read", "failed"]
    reason: str | None = Field(default=None, max_length=2000)


@router.post("/status")
async def post_delivery_status(
    body: StatusBody, principal: IntegrationDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """The app reports what became of a reply it received (delivered, read, failed).
    Workspace API keys only."""
    async with runtime.uow() as uow:
        message = await report_delivery_status(
            uow, principal.workspace_id, body.message_id, body.status, body.reason
        )
        await uow.commit()
    return {"message_id": message.id, "delivery_status": message.delivery_status}
