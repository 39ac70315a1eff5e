"""Business calendars: created, changed and listed by admins.

Changing a calendar moves the deadlines of every running clock that counts on it and
re-arms their timers in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select

from threadline.adapters.db import tables as t
from threadline.adapters.db.engine import on_postgresql
from threadline.core.lookups import get_scoped
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import iso
from threadline.domain.errors import Conflict, DomainError
from threadline.domain.security.access import Principal, Role, require_role
from threadline.domain.service_levels.business_calendar import BusinessCalendar
from threadline.domain.service_levels.sla import ClockState, due_at, warning_at
from threadline.service_levels.clocks.business_calendars import build_calendar
from threadline.service_levels.clocks.timers import BREACH_TIMER, WARNING_TIMER, clock_timer_key
from threadline.service_levels.deadline_writes import (
    MovedDeadline,
    MovedTimer,
    write_deadlines_executemany,
    write_deadlines_postgres,
)

# id, started_at, target_seconds, paused_seconds, warning_ratio, warned_at, breached_at, due_at
RunningClock = Row[int, datetime, int, float, float, datetime | None, datetime | None, datetime]

CALENDAR_FIELDS = frozenset(
    {
        "name",
        "timezone",
        "weekly",
        "holiday_country",
        "holiday_subdivision",
        "custom_holidays",
        "always_open",
    }
)


def calendar_view(row: t.BusinessCalendarRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "timezone": row.timezone,
        "weekly": row.weekly,
        "holiday_country": row.holiday_country,
        "holiday_subdivision": row.holiday_subdivision,
        "custom_holidays": row.custom_holidays,
        "always_open": row.always_open,
        "updated_at": iso(row.updated_at),
    }


async def locked_calendar(
    uow: UnitOfWork, workspace_id: int, calendar_id: int
) -> t.BusinessCalendarRow:
    return await get_scoped(
        uow.session, t.BusinessCalendarRow, workspace_id, calendar_id, lock=True
    )


async def check_name_is_free(
    uow: UnitOfWork, model: Any, workspace_id: int, name: str, own: int
) -> None:
    """No other row of `model` (a calendar, a policy) in the workspace is called `name`."""
    clash = await uow.session.execute(
        select(model.id).where(
            model.workspace_id == workspace_id, model.name == name, model.id != own
        )
    )
    if clash.first() is not None:
        raise Conflict(f"the name {name!r} is already used in this workspace")


async def create_calendar(
    uow: UnitOfWork, principal: Principal, fields: dict[str, Any]
) -> t.BusinessCalendarRow:
    require_role(principal, Role.ADMIN)
    now = uow.clock.now()
    row = t.BusinessCalendarRow(
        workspace_id=principal.workspace_id,
        name=fields["name"],
        timezone=fields.get("timezone") or "UTC",
        weekly=fields.get("weekly") or {},
        holiday_country=fields.get("holiday_country"),
        holiday_subdivision=fields.get("holiday_subdivision"),
        custom_holidays=list(fields.get("custom_holidays") or []),
        always_open=bool(fields.get("always_open", False)),
        created_at=now,
        updated_at=now,
    )
    await check_name_is_free(uow, t.BusinessCalendarRow, principal.workspace_id, row.name, 0)
    _validate_calendar(row, now)
    uow.session.add(row)
    await uow.session.flush()
    return row


async def update_calendar(
    uow: UnitOfWork, principal: Principal, calendar_id: int, changes: dict[str, Any]
) -> tuple[t.BusinessCalendarRow, int]:
    """Apply the changes; returns the calendar and how many running deadlines moved."""
    require_role(principal, Role.ADMIN)
    row = await locked_calendar(uow, principal.workspace_id, calendar_id)
    for name, value in changes.items():
        if name not in CALENDAR_FIELDS:
            raise DomainError(f"{name} cannot be changed on a calendar")
        setattr(row, name, list(value) if name == "custom_holidays" else value)
    if "name" in changes:
        await check_name_is_free(uow, t.BusinessCalendarRow, row.workspace_id, row.name, row.id)
    now = uow.clock.now()
    row.updated_at = now
    _validate_calendar(row, now)
    await uow.session.flush()
    moved = await recompute_open_deadlines(uow, row.workspace_id, row.id)
    return row, moved


def _validate_calendar(row: t.BusinessCalendarRow, now: datetime) -> BusinessCalendar:
    if not row.name.strip():
        raise DomainError("a business calendar needs a name")
    # Building it checks the time zone, the ranges, the holiday country and the dates.
    return build_calendar(row, now)


async def get_calendar(
    uow: UnitOfWork, principal: Principal, calendar_id: int
) -> t.BusinessCalendarRow:
    return await get_scoped(uow.session, t.BusinessCalendarRow, principal.workspace_id, calendar_id)


async def list_calendars(uow: UnitOfWork, principal: Principal) -> list[t.BusinessCalendarRow]:
    return list(
        (
            await uow.session.execute(
                select(t.BusinessCalendarRow)
                .where(t.BusinessCalendarRow.workspace_id == principal.workspace_id)
                .order_by(t.BusinessCalendarRow.id)
            )
        ).scalars()
    )


async def recompute_open_deadlines(uow: UnitOfWork, workspace_id: int, calendar_id: int) -> int:
    """New deadlines for the running clocks on this calendar, with their armed timers moved.
    Paused clocks get theirs when they resume. Written in bulk (two executemany updates),
    because a calendar may carry many thousands of open conversations."""
    calendar_row = await locked_calendar(uow, workspace_id, calendar_id)
    clocks = await _running_clocks(uow, workspace_id, calendar_id)
    moved, timers = _moved_deadlines(calendar_row, clocks)
    if on_postgresql(uow.session):
        await write_deadlines_postgres(uow, workspace_id, moved, timers)
    else:
        await write_deadlines_executemany(uow, workspace_id, moved, timers)
    return len(moved)


async def _running_clocks(
    uow: UnitOfWork, workspace_id: int, calendar_id: int
) -> list[RunningClock]:
    """The running (neither stopped nor paused) clocks on the calendar, as plain rows."""
    rows = await uow.session.execute(
        select(
            t.SlaClock.id,
            t.SlaClock.started_at,
            t.SlaClock.target_seconds,
            t.SlaClock.paused_seconds,
            t.SlaClock.warning_ratio,
            t.SlaClock.warned_at,
            t.SlaClock.breached_at,
            t.SlaClock.due_at,
        ).where(
            t.SlaClock.workspace_id == workspace_id,
            t.SlaClock.calendar_id == calendar_id,
            t.SlaClock.stopped_at.is_(None),
            t.SlaClock.paused_at.is_(None),
        )
        # No FOR UPDATE: locking 100,000 rows costs a write each. The updates that follow
        # touch only clocks still running and timers still armed, so a clock stopped
        # meanwhile keeps its outcome and its cancelled timers stay cancelled.
    )
    return list(rows.all())


def _moved_deadlines(
    calendar_row: t.BusinessCalendarRow, clocks: list[RunningClock]
) -> tuple[list[MovedDeadline], list[MovedTimer]]:
    """The clocks whose deadline the calendar now puts elsewhere, and the timers to move
    with them: the breach timer unless breached, the warning timer unless warned."""
    calendars: dict[int, BusinessCalendar] = {}
    moved: list[MovedDeadline] = []
    timers: list[MovedTimer] = []
    for clock in clocks:
        year = clock.started_at.year
        calendar = calendars.get(year)
        if calendar is None:
            calendar = calendars[year] = build_calendar(calendar_row, clock.started_at)
        state = ClockState(
            started_at=clock.started_at,
            target=timedelta(seconds=clock.target_seconds),
            paused=timedelta(seconds=clock.paused_seconds),
        )
        new_due = due_at(state, calendar)
        if new_due == clock.due_at:
            continue
        moved.append((clock.id, new_due))
        if clock.breached_at is None:
            timers.append((clock_timer_key(clock.id, BREACH_TIMER), new_due))
        if clock.warned_at is None and clock.warning_ratio < 1:
            warns_at = warning_at(state, calendar, clock.warning_ratio)
            timers.append((clock_timer_key(clock.id, WARNING_TIMER), warns_at))
    return moved, timers
