"""A conversation's status moves its clocks: pending and snoozed pause them (the matter waits
on the customer), open resumes them with the deadline pushed out by the working time spent
waiting, resolved stops them."""

from __future__ import annotations

from datetime import datetime

from threadline.adapters.db import tables as t
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.conversations import ConversationStatus
from threadline.domain.service_levels.sla import ClockKind, pause_clock, resume_clock
from threadline.service_levels.clocks.business_calendars import clock_calendar
from threadline.service_levels.clocks.rows import (
    WAITING_ON_CUSTOMER,
    open_clocks,
    store_state,
    stored_state,
)
from threadline.service_levels.clocks.stopping import stop
from threadline.service_levels.clocks.timers import arm_clock, disarm_clock


async def sync_with_status(uow: UnitOfWork, conversation: t.Conversation, now: datetime) -> None:
    status = conversation.status
    clocks = await open_clocks(uow, conversation.id)
    for clock in clocks:
        if status == ConversationStatus.RESOLVED.value:
            await stop(uow, clock, now, counts=clock.kind == ClockKind.RESOLUTION.value)
        elif status in WAITING_ON_CUSTOMER and clock.paused_at is None:
            clock.paused_at = pause_clock(stored_state(clock), now).paused_at
            await disarm_clock(uow, clock)
        elif status == ConversationStatus.OPEN.value and clock.paused_at is not None:
            calendar = await clock_calendar(uow, clock)
            store_state(clock, resume_clock(stored_state(clock), now, calendar), calendar)
            await arm_clock(uow, clock, calendar)
