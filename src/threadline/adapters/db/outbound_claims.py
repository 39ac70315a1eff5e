"""Claiming due outbound jobs so that each is worked on by one worker at a time.

A claim is a lease: the job becomes `sending`, its `locked_until` moves into the future and
its attempt count goes up, in one committed statement. A worker that dies (even by kill -9)
simply stops renewing nothing; once its lease has passed, the job is due again and another
worker claims it. The lease end a worker took is its receipt: it may record an outcome only
while the job still carries that exact lease end (see delivery/outbound.py).

A job claimed again while it was still `sending` lost its worker mid-send: the provider may
or may not have the message. The claim then marks the job in doubt since that earlier
attempt began (`in_doubt_since`), as it does for a job left `unconfirmed` by a timeout, so
the next worker finds out before it sends again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db.leases import lock_if_still_leased
from threadline.adapters.db.tables import OutboundJob

PENDING = "pending"
SENDING = "sending"
UNCONFIRMED = "unconfirmed"
DONE = "done"
FAILED = "failed"
# Jobs that may still be sent, looked up or settled by a delivery report.
OPEN_STATUSES = (PENDING, SENDING, UNCONFIRMED)


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    workspace_id: int
    message_id: int
    idempotency_key: str
    attempts: int
    locked_until: datetime
    started_at: datetime
    # Set when an earlier attempt may have reached the provider without our hearing back.
    in_doubt_since: datetime | None = None


def _is_due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        OutboundJob.status.in_(OPEN_STATUSES),
        OutboundJob.next_attempt_at <= now,
        or_(OutboundJob.locked_until.is_(None), OutboundJob.locked_until < now),
    )


async def claim_due_jobs(
    session: AsyncSession, now: datetime, lease: timedelta, limit: int
) -> list[ClaimedJob]:
    """Lease up to `limit` due jobs to the caller; the caller commits.

    PostgreSQL: the inner SELECT ... FOR UPDATE SKIP LOCKED lets concurrent workers pass
    over each other's rows instead of queueing on them. SQLite has no row locks (the
    clause is dropped when compiling) but runs one writer at a time (BEGIN IMMEDIATE), and
    the outer UPDATE re-checks the lease, so two workers can never hold the same job.
    """
    result = await session.execute(
        update(OutboundJob)
        .where(OutboundJob.id.in_(_due_ids(now, limit).scalar_subquery()), *_is_due(now))
        .values(
            status=SENDING,
            locked_until=now + lease,
            attempts=OutboundJob.attempts + 1,
            attempt_started_at=now,
            in_doubt_since=_in_doubt_since_when_claimed(),
        )
        .returning(
            OutboundJob.id,
            OutboundJob.workspace_id,
            OutboundJob.message_id,
            OutboundJob.idempotency_key,
            OutboundJob.attempts,
            OutboundJob.locked_until,
            OutboundJob.in_doubt_since,
        )
        .execution_options(synchronize_session=False)
    )
    claimed = [
        ClaimedJob(
            id=row.id,
            workspace_id=row.workspace_id,
            message_id=row.message_id,
            idempotency_key=row.idempotency_key,
            attempts=row.attempts,
            locked_until=row.locked_until,
            started_at=now,
            in_doubt_since=row.in_doubt_since,
        )
        for row in result
    ]
    claimed.sort(key=lambda job: job.id)
    return claimed


def _due_ids(now: datetime, limit: int) -> Select[int]:
    """The first `limit` due jobs, soonest first, skipping rows other workers hold."""
    return (
        select(OutboundJob.id)
        .where(*_is_due(now))
        .order_by(OutboundJob.next_attempt_at, OutboundJob.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def _in_doubt_since_when_claimed() -> ColumnElement[datetime | None]:
    """A job claimed while still `sending` lost its worker mid-send: it is in doubt since
    that attempt began (or since an earlier doubt). The right-hand sides see the row as it
    was before the claiming UPDATE, on both databases."""
    return case(
        (
            OutboundJob.status == SENDING,
            func.coalesce(
                OutboundJob.in_doubt_since, OutboundJob.attempt_started_at, OutboundJob.created_at
            ),
        ),
        else_=OutboundJob.in_doubt_since,
    )


async def lock_if_still_ours(session: AsyncSession, job: ClaimedJob) -> OutboundJob | None:
    """The job row, locked for update, only if our lease on it is still the current one
    (not taken over by another worker, nor settled meanwhile by a delivery report)."""
    return await lock_if_still_leased(session, OutboundJob, job.id, SENDING, job.locked_until)


async def lock_if_in_doubt(session: AsyncSession, job_id: int) -> OutboundJob | None:
    """The job row, locked, if it waits `unconfirmed` with nobody sending it: a late answer
    to an earlier attempt may still settle it."""
    return (
        await session.execute(
            select(OutboundJob)
            .where(OutboundJob.id == job_id, OutboundJob.status == UNCONFIRMED)
            .with_for_update()
        )
    ).scalar_one_or_none()


async def lock_job_by_key(
    session: AsyncSession, workspace_id: int, idempotency_key: str
) -> OutboundJob | None:
    """The job a provider's report names by the key we sent with the message, locked."""
    return (
        await session.execute(
            select(OutboundJob)
            .where(
                OutboundJob.workspace_id == workspace_id,
                OutboundJob.idempotency_key == idempotency_key,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
