"""How much work the installation holds, for operators' metrics (GET /metrics).

The one read that crosses workspaces on purpose: it returns counts and ages for the whole
installation, never a row's content, and is shown to operators only. Each query is cheap at
any size, since a scrape comes every few seconds: a grouped count over an index, a count over
the routing queue's partial index, and the first entry of two due-time indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.adapters.db.outbound_claims import PENDING
from threadline.core.timers import ARMED
from threadline.domain.conversations import ConversationStatus


@dataclass(frozen=True, slots=True)
class WorkLevels:
    # Outbound jobs by state: whatever states the database holds, not a fixed list.
    outbound_jobs: dict[str, int]
    # Open, unassigned conversations a customer wrote in, by the channel they last used.
    waiting_conversations: dict[str, int]
    # How long the oldest due job of each queue has been due; 0 when nothing is due.
    outbound_lag_seconds: float
    timer_lag_seconds: float


async def work_levels(session: AsyncSession, now: datetime) -> WorkLevels:
    jobs = await session.execute(
        select(t.OutboundJob.status, func.count()).group_by(t.OutboundJob.status)
    )
    # The status as a literal, as in the partial index ix_conversations_waiting: SQLite's
    # planner cannot match an index's WHERE against a bound parameter.
    waiting = await session.execute(
        select(t.Conversation.last_inbound_channel, func.count())
        .where(
            t.Conversation.status == literal(ConversationStatus.OPEN.value, literal_execute=True),
            t.Conversation.assignee_id.is_(None),
            t.Conversation.last_inbound_channel.is_not(None),
        )
        .group_by(t.Conversation.last_inbound_channel)
    )
    oldest_job = await session.scalar(
        select(func.min(t.OutboundJob.next_attempt_at)).where(
            t.OutboundJob.status == PENDING, t.OutboundJob.next_attempt_at <= now
        )
    )
    oldest_timer = await session.scalar(
        select(func.min(t.Timer.fire_at)).where(t.Timer.status == ARMED, t.Timer.fire_at <= now)
    )
    return WorkLevels(
        outbound_jobs={status: count for status, count in jobs},
        waiting_conversations={channel: count for channel, count in waiting if channel},
        outbound_lag_seconds=_seconds_since(oldest_job, now),
        timer_lag_seconds=_seconds_since(oldest_timer, now),
    )


def _seconds_since(moment: datetime | None, now: datetime) -> float:
    return 0.0 if moment is None else max(0.0, (now - moment).total_seconds())
