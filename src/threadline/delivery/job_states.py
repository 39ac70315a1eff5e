"""What an outcome does to a send job and its message, inside the recording transaction:
sent, failed, held in doubt or due again, with the provider's id adopted when no other
message of ours holds it; each change of the message is announced as message.updated."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from threadline.adapters.channels.base import FoundAtProvider, InDoubt
from threadline.adapters.db import tables as t
from threadline.adapters.db.outbound_claims import DONE, FAILED, PENDING, UNCONFIRMED, ClaimedJob
from threadline.core.lookups import known_by_provider_id
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import conversation_scope, message_view
from threadline.delivery.attempts import Attempt
from threadline.delivery.policy import DeliveryPolicy
from threadline.domain.conversations import DeliveryStatus
from threadline.domain.events import MessageUpdated


async def hold(
    uow: UnitOfWork,
    policy: DeliveryPolicy,
    row: t.OutboundJob,
    message: t.Message | None,
    job: ClaimedJob,
    attempt: Attempt,
    reason: str,
    now: datetime,
) -> None:
    """In doubt: due again for a lookup after the backoff, or at the report deadline."""
    waiting = (
        "waiting for the provider's delivery report"
        if attempt.handling is InDoubt.AWAIT_REPORT
        else "checking with the provider before sending again"
    )
    due = attempt.hold_until or now + policy.backoff(job.attempts)
    await _due_again(
        uow, row, message, job, attempt, UNCONFIRMED, due, reason, f"{reason}; {waiting}"
    )


async def retry_later(
    uow: UnitOfWork,
    policy: DeliveryPolicy,
    row: t.OutboundJob,
    message: t.Message | None,
    job: ClaimedJob,
    attempt: Attempt,
    reason: str,
    now: datetime,
) -> None:
    # A failed lookup leaves the send in doubt: the next attempt looks again first.
    status = UNCONFIRMED if attempt.in_doubt_since is not None else PENDING
    due = now + policy.backoff(job.attempts)
    await _due_again(uow, row, message, job, attempt, status, due, reason, reason)


async def _due_again(
    uow: UnitOfWork,
    row: t.OutboundJob,
    message: t.Message | None,
    job: ClaimedJob,
    attempt: Attempt,
    status: str,
    due: datetime,
    reason: str,
    shown_error: str,
) -> None:
    """The job waits in `status` until `due`; its message shows `shown_error`."""
    row.status = status
    row.in_doubt_since = attempt.in_doubt_since
    row.next_attempt_at = due
    row.last_error = reason
    if message is not None:
        message.meta = {
            **message.meta,
            "delivery_attempts": job.attempts,
            "last_delivery_error": shown_error,
        }
        await _emit_updated(uow, message)


async def mark_sent(
    uow: UnitOfWork,
    row: t.OutboundJob,
    message: t.Message | None,
    provider_message_id: str | None,
    now: datetime,
) -> None:
    row.status = DONE
    row.locked_until = None
    row.last_error = None
    row.in_doubt_since = None
    row.finished_at = now
    if message is None:
        return
    if provider_message_id:
        await adopt_id(uow, message, provider_message_id)
    # A fast app may have reported "delivered" already; never move the status backwards.
    if message.delivery_status == DeliveryStatus.QUEUED.value:
        message.delivery_status = DeliveryStatus.SENT.value
    message.failure_reason = None
    await _emit_updated(uow, message)


async def first_unclaimed(
    uow: UnitOfWork, message: t.Message | None, candidates: list[FoundAtProvider]
) -> FoundAtProvider | None:
    if message is None:
        return candidates[0] if candidates else None
    for candidate in candidates:
        if candidate.provider_message_id == message.provider_message_id:
            return candidate
        if await _provider_id_is_free(uow, message, candidate.provider_message_id):
            return candidate
    return None


async def adopt_id(uow: UnitOfWork, message: t.Message | None, provider_id: str) -> None:
    if message is not None and await _provider_id_is_free(uow, message, provider_id):
        message.provider_message_id = provider_id


async def _provider_id_is_free(uow: UnitOfWork, message: t.Message, provider_id: str) -> bool:
    """An app that answers the same id for two replies must not break our unique index."""
    clash = await uow.session.execute(
        select(t.Message.id).where(
            known_by_provider_id(message.workspace_id, message.inbox_id, [provider_id]),
            t.Message.id != message.id,
        )
    )
    return clash.first() is None


async def mark_failed(
    uow: UnitOfWork, row: t.OutboundJob, message: t.Message | None, reason: str, now: datetime
) -> None:
    row.status = FAILED
    row.locked_until = None
    row.last_error = reason
    row.finished_at = now
    if message is None:
        return
    message.delivery_status = DeliveryStatus.FAILED.value
    message.failure_reason = reason
    await _emit_updated(uow, message)


async def _emit_updated(uow: UnitOfWork, message: t.Message) -> None:
    # The conversation's scope lets the event stream show it only to agents who may see it.
    conversation = await uow.session.get(t.Conversation, message.conversation_id)
    scope = conversation_scope(conversation) if conversation is not None else None
    uow.emit(
        message.workspace_id,
        MessageUpdated(message_view(message), scope),
    )
