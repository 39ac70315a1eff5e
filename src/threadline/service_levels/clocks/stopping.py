"""Stopping a clock: its measurement recorded (elapsed and working time, met) and its timers
disarmed."""

from __future__ import annotations

from datetime import datetime

from threadline.adapters.db import tables as t
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.service_levels.sla import RESPONSE_KINDS, stop_clock
from threadline.service_levels.clocks.business_calendars import clock_calendar
from threadline.service_levels.clocks.rows import open_clocks, stored_state
from threadline.service_levels.clocks.timers import disarm_clock


async def stop(uow: UnitOfWork, clock: t.SlaClock, now: datetime, *, counts: bool = True) -> None:
    """Stop and record the measurement; `counts=False` for a clock that no longer applies
    (a conversation resolved without a reply): met only says "missed" if it had breached."""
    calendar = await clock_calendar(uow, clock)
    outcome = stop_clock(stored_state(clock), now, calendar)
    clock.paused_at = None
    clock.paused_seconds = outcome.state.paused.total_seconds()
    clock.stopped_at = now
    clock.elapsed_seconds = outcome.elapsed.total_seconds()
    clock.working_seconds = outcome.working.total_seconds()
    if counts:
        clock.met = outcome.met and clock.breached_at is None
    else:
        clock.met = False if clock.breached_at is not None else None
    await disarm_clock(uow, clock)


async def stop_responses(uow: UnitOfWork, conversation_id: int, now: datetime) -> None:
    """The customer was answered: the response clocks stop."""
    for clock in await open_clocks(uow, conversation_id, sorted(RESPONSE_KINDS)):
        await stop(uow, clock, now)
