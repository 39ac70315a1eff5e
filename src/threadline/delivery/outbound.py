"""deliver_due: hand due outbound messages to their channel adapters, once.

Three short steps, each its own transaction, so no database lock is held while the
network is slow:
1. claim a batch of due jobs (a lease each, see adapters/db/outbound_claims.py) and read
   their envelopes (envelopes.py);
2. send them through their adapters, outside any transaction (attempts.py);
3. record each outcome, but only if the job still carries our lease (outcomes.py, changing
   the job and its message as job_states.py says). A worker whose lease ran out (it hung,
   or was thought dead) may have been overtaken by another one that claimed the job again;
   its late result is then dropped, and the message is marked sent by whoever holds the
   job, once.

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
from datetime import datetime

import structlog

from threadline.adapters.channels.base import OutboundAdapters
from threadline.adapters.db.outbound_claims import ClaimedJob, claim_due_jobs
from threadline.core.unit_of_work import UnitOfWorkFactory
from threadline.delivery.attempts import attempt_send
from threadline.delivery.envelopes import load_envelopes
from threadline.delivery.outcomes import record_outcome
from threadline.delivery.policy import DeliveryPolicy, DeliveryReport

__all__ = ["DeliveryPolicy", "DeliveryReport", "deliver_due"]

log = structlog.get_logger(__name__)


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
    envelopes = await load_envelopes(uow_factory, claimed)

    async def send_and_record(job: ClaimedJob) -> None:
        # Each job records its outcome as soon as it is known: a slow app holds up nobody.
        attempt = await attempt_send(job, envelopes.get(job.id), adapters, policy, now)
        try:
            await record_outcome(uow_factory, policy, job, attempt, now, report)
        except Exception:
            # The lease runs out and the job, now in doubt, is claimed again.
            log.exception("outbound.record_failed", job_id=job.id)

    await asyncio.gather(*(send_and_record(job) for job in claimed))
    return report
