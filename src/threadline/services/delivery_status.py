"""Applying delivery reports (sent, delivered, read, failed) to our outbound messages."""

from __future__ import annotations

from sqlalchemy import select

from threadline.adapters.db import tables as t
from threadline.domain.channels import Channel
from threadline.domain.conversations import DeliveryStatus, Direction
from threadline.domain.errors import DomainError
from threadline.domain.events import DomainEvent, EventType
from threadline.services.lookups import get_scoped
from threadline.services.unit_of_work import UnitOfWork
from threadline.services.views import conversation_scope, message_view

# A report never moves a message backwards: a late "sent" after "read" is ignored.
_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
    DeliveryStatus.FAILED: 4,
}


async def report_delivery_status(
    uow: UnitOfWork, workspace_id: int, message_id: int, status: str, reason: str | None
) -> t.Message:
    message = await get_scoped(uow.session, t.Message, workspace_id, message_id, lock=True)
    if message.direction != Direction.OUTBOUND.value:
        raise DomainError(f"message {message_id} is not an outbound message")
    new = DeliveryStatus(status)
    current = DeliveryStatus(message.delivery_status)
    if _RANK.get(new, 0) <= _RANK.get(current, 0):
        return message
    message.delivery_status = new.value
    if new is DeliveryStatus.FAILED:
        message.failure_reason = reason or "the channel reported a failure without a reason"
    conversation = await get_scoped(
        uow.session, t.Conversation, workspace_id, message.conversation_id
    )
    uow.emit(
        workspace_id,
        DomainEvent(
            EventType.MESSAGE_UPDATED,
            {"message": message_view(message), "conversation": conversation_scope(conversation)},
            conversation_id=message.conversation_id,
        ),
    )
    return message


async def mark_bounced(
    uow: UnitOfWork, workspace_id: int, sent_message_ids: list[str], reason: str
) -> list[int]:
    """Our outbound emails whose Message-ID a delivery report names as undeliverable are
    failed, with the report's reason; returns their ids."""
    if not sent_message_ids:
        return []
    found = (
        await uow.session.execute(
            select(t.Message.id).where(
                t.Message.workspace_id == workspace_id,
                t.Message.direction == Direction.OUTBOUND.value,
                # A Message-ID names an email; another provider's id could be the same text.
                t.Message.channel == Channel.EMAIL.value,
                t.Message.provider_message_id.in_(sent_message_ids),
            )
        )
    ).scalars()
    failed = list(found)
    for message_id in failed:
        await report_delivery_status(
            uow, workspace_id, message_id, DeliveryStatus.FAILED.value, reason
        )
    return failed
