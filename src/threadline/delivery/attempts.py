"""Step 2 of a send job: one attempt, outside any transaction. A send in doubt is first
settled the channel's way (adapters/channels/base.InDoubt): looked up at the provider, held
for its report, or sent again; a job tried too often is given up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog

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
    Unconfirmed,
    in_doubt_handling,
)
from threadline.adapters.db.outbound_claims import ClaimedJob
from threadline.delivery.policy import DeliveryPolicy
from threadline.domain.channels import Channel

# Every step of a send job logs under the one name its operators filter on.
log = structlog.get_logger("threadline.delivery.outbound")


@dataclass(frozen=True, slots=True)
class Adopted:
    """Messages the provider has that match the one a send in doubt was about, oldest
    first; the first whose id no other message of ours holds is taken to be it."""

    candidates: list[FoundAtProvider]


@dataclass(frozen=True, slots=True)
class Attempt:
    result: SendResult | Adopted
    # Still in doubt since then after this attempt (None: settled, or known not sent).
    in_doubt_since: datetime | None
    handling: InDoubt = InDoubt.RESEND
    # Awaiting a report: the job is held until then.
    hold_until: datetime | None = None


async def attempt_send(
    job: ClaimedJob,
    envelope: OutboundEnvelope | None,
    adapters: OutboundAdapters,
    policy: DeliveryPolicy,
    now: datetime,
) -> Attempt:
    if envelope is None:
        return Attempt(PermanentFailure("the message to send no longer exists"), None)
    adapter = adapters.for_channel(envelope.channel)
    handling = in_doubt_handling(adapter)
    doubt = job.in_doubt_since
    if doubt is not None and handling is InDoubt.AWAIT_REPORT:
        deadline = doubt + policy.report_wait
        if now >= deadline or job.attempts > policy.max_attempts:
            return Attempt(PermanentFailure(_never_confirmed(envelope, policy)), doubt, handling)
        # Claimed again after its worker died mid-send: it waits like any send in doubt.
        reason = f"the {_name(envelope)} send was interrupted before its answer"
        return Attempt(Unconfirmed(reason), doubt, handling, hold_until=deadline)
    if doubt is not None and isinstance(adapter, LooksUpSentMessages):
        found = await _look_up(adapter, envelope, doubt)
        if not isinstance(found, list):
            return Attempt(found, doubt, handling)
        if found:
            return Attempt(Adopted(found), None, handling)
        # The provider does not have it: sending is safe.
        doubt = None
    if job.attempts > policy.max_attempts:
        # Claimed again after workers died mid-send too often; stop rather than loop.
        return Attempt(
            PermanentFailure(f"gave up after {policy.max_attempts} attempts"), doubt, handling
        )
    result = await _send(adapter, envelope, job)
    if isinstance(result, Unconfirmed):
        since = doubt or job.started_at
        hold = since + policy.report_wait if handling is InDoubt.AWAIT_REPORT else None
        return Attempt(result, since, handling, hold_until=hold)
    return Attempt(result, None, handling)


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
