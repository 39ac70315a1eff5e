"""Internal notes: agents talking to each other inside a conversation, never sent out."""

from __future__ import annotations

from threadline.adapters.db import tables as t
from threadline.conversations.notifications import notify_mentions
from threadline.core.lookups import get_visible_conversation
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import conversation_scope, message_view
from threadline.domain.channels import Channel
from threadline.domain.conversations import DeliveryStatus, Direction
from threadline.domain.errors import DomainError
from threadline.domain.events import MessageCreated
from threadline.domain.security.access import Principal

MAX_NOTE_LENGTH = 20_000


async def add_internal_note(
    uow: UnitOfWork, principal: Principal, conversation_id: int, text: str
) -> t.Message:
    text = text.strip()
    if not text:
        raise DomainError("an internal note needs some text")
    if len(text) > MAX_NOTE_LENGTH:
        raise DomainError(f"an internal note is limited to {MAX_NOTE_LENGTH} characters")
    conversation = await get_visible_conversation(uow.session, principal, conversation_id)
    # The note sits in the timeline next to the channel the customer is using right now.
    channel = conversation.last_inbound_channel or Channel.API.value
    note = t.Message(
        workspace_id=principal.workspace_id,
        conversation_id=conversation.id,
        inbox_id=None,
        channel=channel,
        direction=Direction.NOTE.value,
        author_agent_id=principal.agent_id,
        sender_identity=None,
        text=text,
        html=None,
        attachments=[],
        # Nothing to deliver: a note is complete once stored. No outbound job is created, and
        # last_message_at stays as it is, because the customer saw no activity.
        delivery_status=DeliveryStatus.RECEIVED.value,
        meta={},
        created_at=uow.clock.now(),
    )
    uow.session.add(note)
    await uow.session.flush()
    await notify_mentions(uow, principal, text, conversation=conversation, message=note)
    uow.emit(
        principal.workspace_id,
        MessageCreated(message_view(note), conversation_scope(conversation)),
    )
    return note
