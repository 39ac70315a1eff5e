"""deliver_due: hand due outbound messages to their channel adapters, once.

Three short steps, each its own transaction, so no database lock is held while the
network is slow:
1. claim a batch of due jobs (a lease each, see adapters/db/outbound_claims.py);
2. send them through their adapters, outside any transaction;
3. record each outcome, but only if the job still carries our lease. A worker whose lease
   ran out (it hung, or was thought dead) may have been overtaken by another one that
   claimed the job again; its late result is then dropped, and the message is marked
   sent by whoever holds the job, once.

A send whose outcome we never learned (the request timed out after it was written, the
connection dropped before the answer, the worker was killed mid-send) is *in doubt*: the
provider may have the message. What happens next depends on the channel
(adapters/channels/base.InDoubt):
- RESEND (API, email, Telegram): send again; the API and email carry the same key or
  Message-ID every time, so the far side can drop the repeat;
- LOOK_UP (Twilio SMS): ask the provider first, and adopt its message if it has ours;
  send only if it has not;
- AWAIT_REPORT (WhatsApp, Messenger): never send again on our own; the job waits,
  `unconfirmed`, for a status webhook naming our key (delivery/status.py), and
  fails with a reason an agent can act on once `report_wait` has passed without one.
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
    FoundAtProvider,
    InDoubt,
    LooksUpSentMessages,
    OutboundAdapter,
    OutboundAdapters,
    OutboundEnvelope,
    PermanentFailure,
    RetryableFailure,
    SendResult,
    Sent,
    Unconfirmed,
    in_doubt_handling,
)
from threadline.adapters.db import tables as t
from threadline.adapters.db.outbound_claims import (
    DONE,
    FAILED,
    PENDING,
    UNCONFIRMED,
    ClaimedJob,
    claim_due_jobs,
    lock_if_in_doubt,
    lock_if_still_ours,
)
from threadline.core.lookups import known_by_provider_id
from threadline.core.unit_of_work import UnitOfWork, UnitOfWorkFactory
from threadline.core.views import conversation_scope, message_view
from threadline.delivery.status import UNCONFIRMED_FAILURE
from threadline.domain.channels import Channel
from threadline.domain.conversations import DeliveryStatus
from threadline.domain.events import MessageUpdated

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    lease: timedelta
    max_attempts: int
    backoff_seconds: float
    max_backoff_seconds: float = 3600.0
    batch_size: int = 20
    # How long a send in doubt waits for the provider's delivery report (WhatsApp,
    # Messenger) before it is failed with a reason.
    report_wait: timedelta = timedelta(minutes=10)

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
    # Sends in doubt, held until a lookup or a delivery report settles them.
    unconfirmed: int = 0
    # Sends in doubt that the provider turned out to have: taken over, not sent again.
    adopted: int = 0
    # Outcomes dropped because another worker (or a delivery report) settled the job meanwhile.
    overtaken: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Adopted:
    """Messages the provider has that match the one a send in doubt was about, oldest
    first; the first whose id no other message of ours holds is taken to be it."""

    candidates: list[FoundAtProvider]


@dataclass(frozen=True, slots=True)
class _Attempt:
    result: SendResult | _Adopted
    # Still in doubt since then after this attempt (None: settled, or known not sent).
    in_doubt_since: datetime | None
    handling: InDoubt = InDoubt.RESEND
    # Awaiting a report: the job is held until then.
    hold_until: datetime | None = None


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
        attempt = await _attempt(job, envelopes.get(job.id), adapters, policy, now)
        try:
            await _record_outcome(uow_factory, policy, job, attempt, now, report)
        except Exception:
            # The lease runs out and the job, now in doubt, is claimed again.
            log.exception("outbound.record_failed", job_id=job.id)

    await asyncio.gather(*(send_and_record(job) for job in claimed))
    return report


async def _attempt(
    job: ClaimedJob,
    envelope: OutboundEnvelope | None,
    adapters: OutboundAdapters,
    policy: DeliveryPolicy,
    now: datetime,
) -> _Attempt:
    if envelope is None:
        return _Attempt(PermanentFailure("the message to send no longer exists"), None)
    adapter = adapters.for_channel(envelope.channel)
    handling = in_doubt_handling(adapter)
    doubt = job.in_doubt_since
    if doubt is not None and handling is InDoubt.AWAIT_REPORT:
        deadline = doubt + policy.report_wait
        if now >= deadline or job.attempts > policy.max_attempts:
            return _Attempt(PermanentFailure(_never_confirmed(envelope, policy)), doubt, handling)
        # Claimed again after its worker died mid-send: it waits like any send in doubt.
        reason = f"the {_name(envelope)} send was interrupted before its answer"
        return _Attempt(Unconfirmed(reason), doubt, handling, hold_until=deadline)
    if doubt is not None and isinstance(adapter, LooksUpSentMessages):
        found = await _look_up(adapter, envelope, doubt)
        if not isinstance(found, list):
            return _Attempt(found, doubt, handling)
        if found:
            return _Attempt(_Adopted(found), None, handling)
        # The provider does not have it: sending is safe.
        doubt = None
    if job.attempts > policy.max_attempts:
        # Claimed again after workers died mid-send too often; stop rather than loop.
        return _Attempt(
            PermanentFailure(f"gave up after {policy.max_attempts} attempts"), doubt, handling
        )
    result = await _send(adapter, envelope, job)
    if isinstance(result, Unconfirmed):
        since = doubt or job.started_at
        hold = since + policy.report_wait if handling is InDoubt.AWAIT_REPORT else None
        return _Attempt(result, since, handling, hold_until=hold)
    return _Attempt(result, None, handling)


async def _send(
    adapter: OutboundAdapter, envelope: OutboundEnvelope, job: ClaimedJob
) -> SendResult:
    try:
        return await adapter.send(envelope)
    except Exception as exc:
        # An adapter bug must not take the worker down; the job is tried again later.
        log.exception("outbound.adapter_error", job_id=job.id, channel=envelope.channel.value)
        return RetryableFailure(f"the {envelope.channel.value} adapter failed: {exc!r}"[:500])


async def _look_up(
    adapter: LooksUpSentMessages, envelope: OutboundEnvelope, since: datetime
) -> list[FoundAtProvider] | RetryableFailure | PermanentFailure:
    try:
        found = await adapter.find_sent(envelope, since)
    except Exception as exc:
        log.exception("outbound.lookup_error", message_id=envelope.message_id)
        return RetryableFailure(f"the {envelope.channel.value} lookup failed: {exc!r}"[:500])
    if isinstance(found, PermanentFailure):
        # Refused outright (say, a changed token): it may still be sent; try again later.
        return RetryableFailure(found.reason)
    return found


def _name(envelope: OutboundEnvelope) -> str:
    names = {Channel.WHATSAPP: "WhatsApp", Channel.MESSENGER: "Messenger", Channel.SMS: "SMS"}
    return names.get(envelope.channel, envelope.channel.value)


def _never_confirmed(envelope: OutboundEnvelope, policy: DeliveryPolicy) -> str:
    minutes = max(round(policy.report_wait.total_seconds() / 60), 1)
    name = _name(envelope)
    return (
        f"not confirmed: {name} never answered our send and no {name} status report named "
        f"it within {minutes} min, so it was not sent again (that could deliver it twice). "
        "It may or may not have reached the customer; if a report still comes it will show "
        "as sent. If it matters, ask the customer or send it again yourself."
    )


def _in_doubt_note(reason: str) -> str:
    return (
        f"{reason}; an earlier attempt may have reached the customer, so it was not sent "
        "again: check with the customer before sending it again"
    )


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
    attempt: _Attempt,
    now: datetime,
    report: DeliveryReport,
) -> None:
    result = attempt.result
    async with uow_factory() as uow:
        row = await lock_if_still_ours(uow.session, job)
        if row is None and isinstance(result, Sent):
            # Our lease ran out and the job was taken for interrupted, but the provider's
            # answer came after all: while nobody is sending it again, that settles it.
            row = await lock_if_in_doubt(uow.session, job.id)
        if row is None:
            report.overtaken += 1
            log.warning(
                "outbound.outcome_dropped",
                job_id=job.id,
                reason="another worker or a delivery report settled the job meanwhile",
            )
            return
        message = (
            await uow.session.execute(
                select(t.Message).where(t.Message.id == job.message_id).with_for_update()
            )
        ).scalar_one_or_none()
        row.locked_until = None
        if isinstance(result, Sent):
            await _mark_sent(uow, row, message, result.provider_message_id, now)
            report.sent += 1
        elif isinstance(result, _Adopted):
            found = await _first_unclaimed(uow, message, result.candidates)
            if found is None:
                # All of them are other replies of ours with the same text: this one was
                # never sent, and goes out in the next round.
                row.status = PENDING
                row.in_doubt_since = None
                row.next_attempt_at = now
                report.retrying += 1
            elif found.failure is None:
                await _mark_sent(uow, row, message, found.provider_message_id, now)
                report.sent += 1
                report.adopted += 1
            else:
                await _adopt_id(uow, message, found.provider_message_id)
                await _mark_failed(uow, row, message, found.failure, now)
                report.failed += 1
                report.adopted += 1
        elif isinstance(result, Unconfirmed) and attempt.handling is not InDoubt.RESEND:
            await _hold(uow, policy, row, message, job, attempt, result.reason, now)
            report.unconfirmed += 1
        elif (
            isinstance(result, RetryableFailure | Unconfirmed)
            and job.attempts < policy.max_attempts
        ):
            await _retry_later(uow, policy, row, message, job, attempt, result.reason, now)
            report.retrying += 1
        else:
            reason = result.reason
            if not isinstance(result, PermanentFailure):
                reason = f"gave up after {job.attempts} attempts; last error: {reason}"
            if attempt.in_doubt_since is not None and attempt.handling is InDoubt.LOOK_UP:
                reason = _in_doubt_note(reason)
            await _mark_failed(uow, row, message, reason, now)
            if message is not None and attempt.in_doubt_since is not None:
                message.meta = {**message.meta, UNCONFIRMED_FAILURE: True}
            report.failed += 1
            report.failures.append(reason)
        await uow.commit()
    log.info(
        "outbound.attempt",
        job_id=job.id,
        message_id=job.message_id,
        attempt=job.attempts,
        outcome=type(result).__name__.lstrip("_"),
        in_doubt=attempt.in_doubt_since is not None,
    )


async def _hold(
    uow: UnitOfWork,
    policy: DeliveryPolicy,
    row: t.OutboundJob,
    message: t.Message | None,
    job: ClaimedJob,
    attempt: _Attempt,
    reason: str,
    now: datetime,
) -> None:
    """In doubt: due again for a lookup after the backoff, or at the report deadline."""
    row.status = UNCONFIRMED
    row.in_doubt_since = attempt.in_doubt_since
    row.next_attempt_at = attempt.hold_until or now + policy.backoff(job.attempts)
    row.last_error = reason
    if message is not None:
        waiting = (
            "waiting for the provider's delivery report"
            if attempt.handling is InDoubt.AWAIT_REPORT
            else "checking with the provider before sending again"
        )
        message.meta = {
            **message.meta,
            "delivery_attempts": job.attempts,
            "last_delivery_error": f"{reason}; {waiting}",
        }
        await _emit_updated(uow, message)


async def _retry_later(
    uow: UnitOfWork,
    policy: DeliveryPolicy,
    row: t.OutboundJob,
    message: t.Message | None,
    job: ClaimedJob,
    attempt: _Attempt,
    reason: str,
    now: datetime,
) -> None:
    # A failed lookup leaves the send in doubt: the next attempt looks again first.
    row.status = UNCONFIRMED if attempt.in_doubt_since is not None else PENDING
    row.in_doubt_since = attempt.in_doubt_since
    row.next_attempt_at = now + policy.backoff(job.attempts)
    row.last_error = reason
    if message is not None:
        message.meta = {
            **message.meta,
            "delivery_attempts": job.attempts,
            "last_delivery_error": reason,
        }
        await _emit_updated(uow, message)


async def _mark_sent(
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
        await _adopt_id(uow, message, provider_message_id)
    # A fast app may have reported "delivered" already; never move the status backwards.
    if message.delivery_status == DeliveryStatus.QUEUED.value:
        message.delivery_status = DeliveryStatus.SENT.value
    message.failure_reason = None
    await _emit_updated(uow, message)


async def _first_unclaimed(
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


async def _adopt_id(uow: UnitOfWork, message: t.Message | None, provider_id: str) -> None:
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


async def _mark_failed(
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
