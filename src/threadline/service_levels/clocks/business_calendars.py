"""A stored business calendar as the domain's BusinessCalendar, with its public holidays."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from threadline.adapters.db import tables as t
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.service_levels.business_calendar import (
    BusinessCalendar,
    InvalidCalendar,
    holidays_for,
)

_calendar_cache: dict[tuple[Any, ...], BusinessCalendar] = {}
_CALENDAR_CACHE_LIMIT = 256


def _parse_time(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError as error:
        raise InvalidCalendar(f"working hours are HH:MM, got {text!r}") from error


def parse_weekly(weekly: dict[str, Any]) -> dict[int, list[tuple[time, time]]]:
    """{"0": [["08:00", "16:00"]], ...} (0 = Monday) as the domain calendar wants it."""
    parsed: dict[int, list[tuple[time, time]]] = {}
    for day, ranges in weekly.items():
        try:
            weekday = int(day)
        except ValueError as error:
            raise InvalidCalendar(
                f"weekday keys are 0 (Monday) .. 6 (Sunday), got {day!r}"
            ) from error
        if not isinstance(ranges, list):
            raise InvalidCalendar("each weekday holds a list of [start, end] ranges")
        pairs: list[tuple[time, time]] = []
        for item in ranges:
            if not isinstance(item, list | tuple) or len(item) != 2:
                raise InvalidCalendar("a working range is [start, end], e.g. ['08:00', '16:00']")
            pairs.append((_parse_time(str(item[0])), _parse_time(str(item[1]))))
        parsed[weekday] = pairs
    return parsed


def build_calendar(row: t.BusinessCalendarRow, around: datetime) -> BusinessCalendar:
    """The domain calendar of a stored one, with public holidays of the years around `around`."""
    # Keyed by content, not id: an edited calendar is a different calendar.
    key = (
        row.timezone,
        repr(sorted(row.weekly.items())),
        row.holiday_country,
        row.holiday_subdivision,
        tuple(row.custom_holidays),
        row.always_open,
        around.year,
    )
    cached = _calendar_cache.get(key)
    if cached is not None:
        return cached
    if row.always_open:
        calendar = BusinessCalendar.twenty_four_seven(row.timezone)
    else:
        closed: set[Any] = set()
        if row.holiday_country:
            years = range(around.year - 1, around.year + 4)
            closed |= holidays_for(row.holiday_country, row.holiday_subdivision, years)
        for text in row.custom_holidays:
            closed.add(_parse_date(text))
        calendar = BusinessCalendar.build(row.timezone, parse_weekly(row.weekly), closed)
    if len(_calendar_cache) >= _CALENDAR_CACHE_LIMIT:
        _calendar_cache.clear()
    _calendar_cache[key] = calendar
    return calendar


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise InvalidCalendar(f"holiday dates are YYYY-MM-DD, got {text!r}") from error


async def clock_calendar(uow: UnitOfWork, clock: t.SlaClock) -> BusinessCalendar:
    if clock.calendar_id is None:
        return BusinessCalendar.twenty_four_seven()
    row = await uow.session.get(t.BusinessCalendarRow, clock.calendar_id)
    if row is None:
        return BusinessCalendar.twenty_four_seven()
    return build_calendar(row, clock.started_at)
