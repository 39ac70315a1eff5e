"""Step 3 of a send job: its outcome recorded, in a transaction of its own, but only while
the job still carries our lease. A worker whose lease ran out may have been overtaken by
another that claimed the job again; its late result is then dropped, so the message is
marked sent by whoever holds the job, once. A job tried too often is given up with a reason
that says whether the message may have gone out after all."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import select

from threadline.adapters.channels.base import (
    InDoubt,
    PermanentFailure,
    RetryableFailure,
    Sent,
    Unconfirmed,
)
from threadline.adapters.db import tables as t
from threadline.adapters.db.outbound_claims import (
    PENDING,
    ClaimedJob,
    lock_if_in_doubt,
    lock_if_still_ours,
)
from threadline.core.unit_of_work import UnitOfWork, UnitOfWorkFactory
from threadline.delivery.attempts import Adopted, Attempt
from threadline.delivery.job_states import (
    adopt_id,
    first_unclaimed,
    hold,
    mark_failed,
    mark_sent,
    retry_later,
)
from threadline.delivery.policy import DeliveryPolicy, DeliveryReport
from threadline.delivery.status import UNCONFIRMED_FAILURE

# Every step of a send job logs under the one name its operators filter on.
log = structlog.get_logger("threadline.delivery.outbound")


async def record_outcome(
    uow_factory: UnitOfWorkFactory,
    policy: DeliveryPolicy,
    job: ClaimedJob,
    attempt: Attempt,
    now: datetime,
    report: DeliveryReport,
) -> None:
    async with uow_factory() as uow:
        row = await lock_if_still_ours(uow.session, job)
        if row is None and isinstance(attempt.result, Sent):
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
        await _apply(uow, policy, row, message, job, attempt, now, report)
        await uow.commit()
    log.info(
        "outbound.attempt",
        job_id=job.id,
        message_id=job.message_id,
        attempt=job.attempts,
        outcome=type(attempt.result).__name__.lstrip("_"),
        in_doubt=attempt.in_doubt_since is not None,
    )


async def _apply(
    uow: UnitOfWork,
    policy: DeliveryPolicy,
    row: t.OutboundJob,
    message: t.Message | None,
    job: ClaimedJob,
    attempt: Attempt,
    now: datetime,
    report: DeliveryReport,
) -> None:
    """The outcome's change to the locked job and its message, counted in `report`."""
    result = attempt.result
    if isinstance(result, Sent):
        await mark_sent(uow, row, message, result.provider_message_id, now)
        report.sent += 1
    elif isinstance(result, Adopted):
        await _adopt(uow, row, message, result, now, report)
    elif isinstance(result, Unconfirmed) and attempt.handling is not InDoubt.RESEND:
        await hold(uow, policy, row, message, job, attempt, result.reason, now)
        report.unconfirmed += 1
    elif isinstance(result, RetryableFailure | Unconfirmed) and job.attempts < policy.max_attempts:
        await retry_later(uow, policy, row, message, job, attempt, result.reason, now)
        report.retrying += 1
    else:
        await _give_up(uow, row, message, job, attempt, result, now, report)


async def _adopt(
    uow: UnitOfWork,
    row: t.OutboundJob,
    message: t.Message | None,
    adopted: Adopted,
    now: datetime,
    report: DeliveryReport,
) -> None:
    """The provider has our message in doubt: take it over (sent, or failed as it reports)."""
    found = await first_unclaimed(uow, message, adopted.candidates)
    if found is None:
        # All of them are other replies of ours with the same text: this one was
        # never sent, and goes out in the next round.
        row.status = PENDING
        row.in_doubt_since = None
        row.next_attempt_at = now
        report.retrying += 1
    elif found.failure is None:
        await mark_sent(uow, row, message, found.provider_message_id, now)
        report.sent += 1
        report.adopted += 1
    else:
        await adopt_id(uow, message, found.provider_message_id)
        await mark_failed(uow, row, message, found.failure, now)
        report.failed += 1
        report.adopted += 1


async def _give_up(
    uow: UnitOfWork,
    row: t.OutboundJob,
    message: t.Message | None,
    job: ClaimedJob,
    attempt: Attempt,
    result: PermanentFailure | RetryableFailure | Unconfirmed,
    now: datetime,
    report: DeliveryReport,
) -> None:
    reason = result.reason
    if not isinstance(result, PermanentFailure):
        reason = f"gave up after {job.attempts} attempts; last error: {reason}"
    if attempt.in_doubt_since is not None and attempt.handling is InDoubt.LOOK_UP:
        reason = _in_doubt_note(reason)
    await mark_failed(uow, row, message, reason, now)
    if message is not None and attempt.in_doubt_since is not None:
        message.meta = {**message.meta, UNCONFIRMED_FAILURE: True}
    report.failed += 1
    report.failures.append(reason)


def _in_doubt_note(reason: str) -> str:
    return (
        f"{reason}; an earlier attempt may have reached the customer, so it was not sent "
        "again: check with the customer before sending it again"
    )
