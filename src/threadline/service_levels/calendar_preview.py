"""What a business calendar means for the coming days: each day's open hours, or why it is
closed (a public holiday by name, a closed day the admin added, no hours that weekday)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from threadline.adapters.db import tables as t
from threadline.domain.service_levels.public_holidays import (  # noqa: F401  (the face's)
    holiday_countries,
    holiday_names,
)
from threadline.service_levels.clocks.business_calendars import build_calendar

PREVIEW_DAYS = 14


# Why a day has no open hours, when it is not a public holiday (then: the holiday's name).
CLOSED_DAY = "closed_day"  # a date the admin closed
NO_HOURS = "no_hours"  # no working hours on that weekday


@dataclass(frozen=True, slots=True)
class PreviewDay:
    day: date
    shifts: tuple[tuple[str, str], ...]
    # None when open; CLOSED_DAY, NO_HOURS or the public holiday's name
    closed: str | None
    always_open: bool = False


def preview_calendar(
    row: t.BusinessCalendarRow, now: datetime, days: int = PREVIEW_DAYS
) -> list[PreviewDay]:
    """The next `days` local dates of the calendar from today (in its own time zone)."""
    # Building it checks the calendar exactly as the clocks will use it.
    build_calendar(row, now)
    today = now.astimezone(ZoneInfo(row.timezone)).date()
    dates = [today + timedelta(days=offset) for offset in range(days)]
    if row.always_open:
        return [PreviewDay(day, (("00:00", "24:00"),), None, True) for day in dates]
    public: dict[date, str] = {}
    if row.holiday_country:
        years = sorted({day.year for day in dates})
        public = holiday_names(row.holiday_country, row.holiday_subdivision, years)
    custom = set(row.custom_holidays)
    return [_preview_day(row, day, public, custom) for day in dates]


def _preview_day(
    row: t.BusinessCalendarRow, day: date, public: dict[date, str], custom: set[str]
) -> PreviewDay:
    if day in public:
        return PreviewDay(day, (), public[day])
    if day.isoformat() in custom:
        return PreviewDay(day, (), CLOSED_DAY)
    shifts = tuple((str(a), str(b)) for a, b in row.weekly.get(str(day.weekday()), []))
    return PreviewDay(day, shifts, None if shifts else NO_HOURS)
