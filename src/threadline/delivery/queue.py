"""Queueing a message for a channel: the stored `queued` message, its durable send job and the
event, in the caller's transaction. Replies and surveys both go out this way."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from threadline.adapters.db import tables as t
from threadline.conversations.channels import record_channel
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import conversation_scope, message_view
from threadline.domain.channels import Channel
from threadline.domain.conversations import DeliveryStatus, Direction
from threadline.domain.events import MessageCreated


async def queue_outbound_message(
    uow: UnitOfWork,
    conversation: t.Conversation,
    inbox: t.Inbox,
    channel: Channel,
    *,
    text: str,
    meta: dict[str, Any],
    author_agent_id: int | None,
    now: datetime,
    key_prefix: str = "tl",
) -> t.Message:
    session = uow.session
    workspace_id = conversation.workspace_id
    message = t.Message(
        workspace_id=workspace_id,
        conversation_id=conversation.id,
        inbox_id=inbox.id,
        channel=channel.value,
        direction=Direction.OUTBOUND.value,
        author_agent_id=author_agent_id,
        sender_identity=None,
        text=text,
        html=None,
        attachments=[],
        delivery_status=DeliveryStatus.QUEUED.value,
        meta=meta,
        created_at=now,
    )
    session.add(message)
    await session.flush()
    session.add(
        t.OutboundJob(
            workspace_id=workspace_id,
            message_id=message.id,
            # The adapter passes this on to the provider, so a retried send is not repeated.
            idempotency_key=f"{key_prefix}-{uuid.uuid4().hex}",
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    uow.outbound_queued = True
    await record_channel(session, workspace_id, conversation.id, channel)
    await session.flush()
    uow.emit(
        workspace_id,
        MessageCreated(message_view(message), conversation_scope(conversation)),
    )
    return message
