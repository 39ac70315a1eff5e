"""deliver_due: hand due outbound messages to their channel adapters, exactly once.

Three short steps, each its own transaction, so no database lock is held while the
network is slow:
1. claim a batch of due jobs (a lease each, see adapters/db/outbound_claims.py);
2. send them through their adapters, outside any transaction;
3. record each outcome, but only if the job still carries our lease. A worker whose lease
   ran out (it hung, or was thought dead) may have been overtaken by another one that
   claimed the job again; its late result is then dropped, and the message is marked
   sent by whoever holds the job, once. The far side sees the same Idempotency-Key on
   every attempt, so it can drop a repeat too.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.channels.base import (
    OutboundAdapters,
    OutboundEnvelope,
    PermanentFailure,
    RetryableFailure,
    SendResult,
    Sent,
)
from threadline.adapters.db import tables as t
from threadline.adapters.db.outbound_claims import ClaimedJob, claim_due_jobs, lock_if_still_ours
from threadline.domain.channels import Channel
from threadline.domain.conversations import DeliveryStatus
from threadline.domain.events import DomainEvent, EventType
from threadline.services.unit_of_work import UnitOfWork, UnitOfWorkFactory
from threadline.services.views import conversation_scope, message_view

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    lease: timedelta
    max_attempts: int
    backoff_seconds: float
    max_backoff_seconds: float = 3600.0
    batch_size: int = 20

    def backoff(self, attempts: int) -> timedelta:
        """Exponential: backoff, 2x, 4x, ... after the 1st, 2nd, 3rd failed attempt; capped."""
        exponent = max(attempts - 1, 0)
        seconds = min(self.backoff_seconds * 2.0 ** min(exponent, 32), self.max_backoff_seconds)
        return timedelta(seconds=seconds)


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    # Outcomes dropped because another worker had taken the job over meanwhile.
    overtaken: int = 0
    failures: list[str] = field(default_factory=list)


async def deliver_due(
    uow_factory: UnitOfWorkFactory,
    adapters: OutboundAdapters,
    policy: DeliveryPolicy,
    now: datetime,
) -> DeliveryReport:
    report = DeliveryReport()
    async with uow_factory() as uow:
        claimed = await claim_due_jobs(uow.session, now, policy.lease, policy.batch_size)
        await uow.commit()
    report.claimed = len(claimed)
    if not claimed:
        return report
    envelopes = await _load_envelopes(uow_factory, claimed)

    async def send_and_record(job: ClaimedJob) -> None:
        # Each job records its outcome as soon as it is known: a slow app holds up nobody.
        result = await _attempt(job, envelopes.get(job.id), adapters, policy)
        try:
            await _record_outcome(uow_factory, policy, job, result, now, report)
        except Exception:
            # The lease runs out and the job is tried again; the far side dedups by key.
            log.exception("outbound.record_failed", job_id=job.id)

    await asyncio.gather(*(send_and_record(job) for job in claimed))
    return report


async def _attempt(
    job: ClaimedJob,
    envelope: OutboundEnvelope | None,
    adapters: OutboundAdapters,
    policy: DeliveryPolicy,
) -> SendResult:
    if envelope is None:
        return PermanentFailure("the message to send no longer exists")
    if job.attempts > policy.max_attempts:
        # Claimed again after workers died mid-send too often; stop rather than loop.
        return PermanentFailure(f"gave up after {policy.max_attempts} attempts")
    adapter = adapters.for_channel(envelope.channel)
    try:
        return await adapter.send(envelope)
    except Exception as exc:
        # An adapter bug must not take the worker down; the job is tried again later.
        log.exception("outbound.adapter_error", job_id=job.id, channel=envelope.channel.value)
        return RetryableFailure(f"the {envelope.channel.value} adapter failed: {exc!r}"[:500])


async def _load_envelopes(
    uow_factory: UnitOfWorkFactory, jobs: list[ClaimedJob]
) -> dict[int, OutboundEnvelope]:
    envelopes: dict[int, OutboundEnvelope] = {}
    async with uow_factory() as uow:
        session = uow.session
        for job in jobs:
            message = (
                await session.execute(
                    select(t.Message).where(
                        t.Message.id == job.message_id,
                        t.Message.workspace_id == job.workspace_id,
                    )
                )
            ).scalar_one_or_none()
            if message is None:
                continue
            inbox = await session.get(t.Inbox, message.inbox_id) if message.inbox_id else None
            author = (
                await session.get(t.Agent, message.author_agent_id)
                if message.author_agent_id
                else None
            )
            recipient = message.meta.get("recipient")
            envelopes[job.id] = OutboundEnvelope(
                workspace_id=job.workspace_id,
                message_id=message.id,
                conversation_id=message.conversation_id,
                channel=Channel(message.channel),
                inbox_id=inbox.id if inbox else 0,
                recipient=str(recipient) if recipient is not None else None,
                text=message.text,
                author_name=author.name if author else None,
                author_photo_url=author.photo_url if author else None,
                created_at=message.created_at,
                idempotency_key=job.idempotency_key,
                inbox_settings=dict(inbox.settings) if inbox else {},
                inbox_secret=inbox.secret if inbox else None,
                template=message.meta.get("template"),
                **(await _email_fields(session, message, inbox)),
            )
    return envelopes


async def _email_fields(
    session: AsyncSession, message: t.Message, inbox: t.Inbox | None
) -> dict[str, Any]:
    """From, subject and thread headers of an email reply, so the customer's client threads it
    under their own mail: In-Reply-To the latest email of the conversation we received (or,
    failing that, sent) and References its chain."""
    if message.channel != Channel.EMAIL.value:
        return {}
    conversation = await session.get(t.Conversation, message.conversation_id)
    fields: dict[str, Any] = {
        "from_address": inbox.address if inbox else None,
        "inbox_name": inbox.name if inbox else None,
        "subject": conversation.subject if conversation else None,
    }
    earlier = (
        await session.execute(
            select(t.Message)
            .where(
                t.Message.workspace_id == message.workspace_id,
                t.Message.conversation_id == message.conversation_id,
                t.Message.channel == Channel.EMAIL.value,
                t.Message.provider_message_id.is_not(None),
                t.Message.id != message.id,
                t.Message.direction.in_(["inbound", "outbound"]),
            )
            .order_by(
                (t.Message.direction == "inbound").desc(),
                t.Message.created_at.desc(),
                t.Message.id.desc(),
            )
            .limit(1)
        )
    ).scalar_one_or_none()
    if earlier is not None and earlier.provider_message_id:
        parent = f"<{earlier.provider_message_id.strip().strip('<>')}>"
        chain = [ref for ref in _stored_references(earlier.meta) if ref != parent]
        fields["thread_headers"] = {
            "In-Reply-To": parent,
            # RFC 5322 3.6.4: the parent's References followed by the parent's own id.
            "References": " ".join([*chain[-20:], parent]),
        }
    return fields


def _stored_references(meta: dict[str, Any]) -> list[str]:
    found = meta.get("references")
    email_meta = meta.get("email")
    if found is None and isinstance(email_meta, dict):
        found = email_meta.get("references")
    if isinstance(found, str):
        found = found.split()
    if not isinstance(found, list):
        return []
    return [f"<{str(ref).strip().strip('<>')}>" for ref in found if str(ref).strip("<> ")]


async def _record_outcome(
    uow_factory: UnitOfWorkFactory,
    policy: DeliveryPolicy,
    job: ClaimedJob,
    result: SendResult,
    now: datetime,
    report: DeliveryReport,
) -> None:
    async with uow_factory() as uow:
        row = await lock_if_still_ours(uow.session, job)
        if row is None:
            report.overtaken += 1
            log.warning("outbound.outcome_dropped", job_id=job.id, reason="lease taken over")
            return
        message = (
            await uow.session.execute(
                select(t.Message).where(t.Message.id == job.message_id).with_for_update()
            )
        ).scalar_one_or_none()
        if isinstance(result, Sent):
            await _mark_sent(uow, row, message, result, now)
            report.sent += 1
        elif isinstance(result, RetryableFailure) and job.attempts < policy.max_attempts:
            row.next_attempt_at = now + policy.backoff(job.attempts)
            row.locked_until = None
            row.last_error = result.reason
            if message is not None:
                message.meta = {
                    **message.meta,
                    "delivery_attempts": job.attempts,
                    "last_delivery_error": result.reason,
                }
                await _emit_updated(uow, message)
            report.retrying += 1
        else:
            reason = result.reason if not isinstance(result, Sent) else ""
            if isinstance(result, RetryableFailure):
                reason = f"gave up after {job.attempts} attempts; last error: {reason}"
            await _mark_failed(uow, row, message, reason, now)
            report.failed += 1
            report.failures.append(reason)
        await uow.commit()
    log.info(
        "outbound.attempt",
        job_id=job.id,
        message_id=job.message_id,
        attempt=job.attempts,
        outcome=type(result).__name__,
    )


async def _mark_sent(
    uow: UnitOfWork, row: t.OutboundJob, message: t.Message | None, result: Sent, now: datetime
) -> None:
    row.status = "done"
    row.locked_until = None
    row.last_error = None
    row.finished_at = now
    if message is None:
        return
    if result.provider_message_id and await _provider_id_is_free(
        uow, message, result.provider_message_id
    ):
        message.provider_message_id = result.provider_message_id
    # A fast app may have reported "delivered" already; never move the status backwards.
    if message.delivery_status == DeliveryStatus.QUEUED.value:
        message.delivery_status = DeliveryStatus.SENT.value
    message.failure_reason = None
    await _emit_updated(uow, message)


async def _provider_id_is_free(uow: UnitOfWork, message: t.Message, provider_id: str) -> bool:
    """An app that answers the same id for two replies must not break our unique index."""
    clash = await uow.session.execute(
        select(t.Message.id).where(
            t.Message.workspace_id == message.workspace_id,
            t.Message.inbox_id == message.inbox_id,
            t.Message.provider_message_id == provider_id,
            t.Message.id != message.id,
        )
    )
    return clash.first() is None


async def _mark_failed(
    uow: UnitOfWork, row: t.OutboundJob, message: t.Message | None, reason: str, now: datetime
) -> None:
    row.status = "failed"
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
        DomainEvent(
            EventType.MESSAGE_UPDATED,
            {"message": message_view(message), "conversation": scope},
            conversation_id=message.conversation_id,
        ),
    )
