"""Applying delivery reports (sent, delivered, read, failed) to our outbound messages."""

from __future__ import annotations

import structlog
from sqlalchemy import select

from threadline.adapters.db import tables as t
from threadline.adapters.db.outbound_claims import DONE, FAILED, OPEN_STATUSES, lock_job_by_key
from threadline.core.lookups import get_scoped, known_by_provider_id
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import conversation_scope, message_view
from threadline.domain.channels import Channel
from threadline.domain.conversations import DeliveryStatus, Direction
from threadline.domain.errors import DomainError
from threadline.domain.events import MessageUpdated

log = structlog.get_logger(__name__)
# Set on a message failed only because no report confirmed it in time (see
# delivery/outbound.py): a report that still comes shows it did go out.
UNCONFIRMED_FAILURE = "unconfirmed_failure"
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
        MessageUpdated(message_view(message), conversation_scope(conversation)),
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


async def apply_delivery_report(
    uow: UnitOfWork,
    workspace_id: int,
    provider_message_id: str,
    status: str,
    reason: str | None,
    *,
    inbox_id: int,
    key: str | None = None,
) -> int | None:
    """A provider's report about one of our messages, found by the provider's id or, when
    that id is not ours yet, by the key we sent along (a send whose answer was lost, or a
    report quicker than the answer): the message then takes the provider's id and its send
    job is settled, so it is never sent again. Returns the message's id, None if not ours."""
    query = select(t.Message.id).where(
        known_by_provider_id(workspace_id, inbox_id, [provider_message_id]),
        t.Message.direction == Direction.OUTBOUND.value,
    )
    message_id = (await uow.session.execute(query)).scalars().first()
    if message_id is None and key:
        message_id = await _settle_by_key(
            uow, workspace_id, inbox_id, key, provider_message_id, status
        )
    if message_id is None:
        return None
    await report_delivery_status(uow, workspace_id, message_id, status, reason)
    return message_id


async def _settle_by_key(
    uow: UnitOfWork,
    workspace_id: int,
    inbox_id: int,
    key: str,
    provider_message_id: str,
    status: str,
) -> int | None:
    job = await lock_job_by_key(uow.session, workspace_id, key)
    if job is None:
        return None
    query = select(t.Message).where(
        t.Message.id == job.message_id,
        t.Message.workspace_id == workspace_id,
        t.Message.direction == Direction.OUTBOUND.value,
        t.Message.inbox_id == inbox_id,
    )
    message = (await uow.session.execute(query.with_for_update())).scalar_one_or_none()
    if message is None:
        return None
    if message.provider_message_id is None:
        if await _provider_id_taken(uow, message, provider_message_id):
            log.warning("delivery.report_id_taken", message_id=message.id)
        else:
            message.provider_message_id = provider_message_id
    elif message.provider_message_id != provider_message_id:
        # The same reply under two provider ids: it went out twice (say, before this
        # guard existed). The report is still about this reply.
        log.warning("delivery.report_for_second_copy", message_id=message.id)
    revived = job.status == FAILED and bool(message.meta.get(UNCONFIRMED_FAILURE))
    if job.status in OPEN_STATUSES or revived:
        now = uow.clock.now()
        # Either way the provider has it: never to be sent again.
        job.status = FAILED if status == DeliveryStatus.FAILED.value else DONE
        job.locked_until = None
        job.in_doubt_since = None
        job.last_error = None
        job.finished_at = now
    if revived:
        # We gave up waiting and said so; the report shows it did go out after all.
        message.delivery_status = DeliveryStatus.SENT.value
        message.failure_reason = None
        message.meta = {k: v for k, v in message.meta.items() if k != UNCONFIRMED_FAILURE}
        await _emit(uow, message)
    log.info("delivery.settled_by_report", message_id=message.id, job_id=job.id)
    return message.id


async def _provider_id_taken(uow: UnitOfWork, message: t.Message, provider_id: str) -> bool:
    clash = await uow.session.execute(
        select(t.Message.id).where(
            known_by_provider_id(message.workspace_id, message.inbox_id, [provider_id]),
            t.Message.id != message.id,
        )
    )
    return clash.first() is not None


async def _emit(uow: UnitOfWork, message: t.Message) -> None:
    conversation = await get_scoped(
        uow.session, t.Conversation, message.workspace_id, message.conversation_id
    )
    uow.emit(
        message.workspace_id,
        MessageUpdated(message_view(message), conversation_scope(conversation)),
    )
