"""The two durable timers of a running clock: "sla.warning" at the policy's warning ratio of
the target, "sla.breach" at the deadline. Armed while the clock runs, disarmed when it pauses
or stops (their handlers are in escalation.py)."""

from __future__ import annotations

from threadline.adapters.db import tables as t
from threadline.core.timers import cancel_timer, schedule_timer, timer_key
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.service_levels.business_calendar import BusinessCalendar
from threadline.domain.service_levels.sla import warning_at
from threadline.service_levels.clocks.rows import stored_state

WARNING_TIMER = "sla.warning"
BREACH_TIMER = "sla.breach"


def clock_timer_key(clock_id: int, kind: str) -> str:
    """The key of a clock's warning or breach timer (`kind` is WARNING_TIMER or BREACH_TIMER)."""
    return timer_key(kind, clock_id)


async def arm_clock(uow: UnitOfWork, clock: t.SlaClock, calendar: BusinessCalendar) -> None:
    """(Re-)arm the warning and breach timers of a running clock at its current times."""
    state = stored_state(clock)
    payload = {"clock_id": clock.id}
    if clock.warned_at is None and clock.warning_ratio < 1:
        await schedule_timer(
            uow,
            clock.workspace_id,
            kind=WARNING_TIMER,
            key=clock_timer_key(clock.id, WARNING_TIMER),
            fire_at=warning_at(state, calendar, clock.warning_ratio),
            payload=payload,
        )
    if clock.breached_at is None:
        await schedule_timer(
            uow,
            clock.workspace_id,
            kind=BREACH_TIMER,
            key=clock_timer_key(clock.id, BREACH_TIMER),
            fire_at=clock.due_at,
            payload=payload,
        )


async def disarm_clock(uow: UnitOfWork, clock: t.SlaClock) -> None:
    for kind in (WARNING_TIMER, BREACH_TIMER):
        await cancel_timer(uow, clock.workspace_id, clock_timer_key(clock.id, kind))
