"""The two weeks a calendar's page previews: each local day's open hours, or why it is
closed (a public holiday by its name, a closed day of the admin's, no hours that weekday)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.support.warsaw_time import warsaw
from threadline.adapters.db import tables as t
from threadline.domain.service_levels.business_calendar import InvalidCalendar
from threadline.domain.service_levels.public_holidays import holiday_countries
from threadline.service_levels.calendar_preview import CLOSED_DAY, NO_HOURS, preview_calendar

SPLIT = [["08:00", "12:00"], ["13:00", "17:00"]]


def _calendar(**fields: object) -> t.BusinessCalendarRow:
    values: dict[str, object] = {
        "name": "Shop",
        "timezone": "Europe/Warsaw",
        "weekly": {str(day): SPLIT for day in range(5)},
        "holiday_country": "PL",
        "holiday_subdivision": None,
        "custom_holidays": ["2026-12-28"],
        "always_open": False,
        **fields,
    }
    return t.BusinessCalendarRow(**values)


def test_the_preview_names_holidays_closed_days_and_split_shifts() -> None:
    # 23:30 UTC on Sunday 20 December is already Monday the 21st in Warsaw.
    days = preview_calendar(_calendar(), datetime(2026, 12, 20, 23, 30, tzinfo=UTC))
    by_day = {d.day: d for d in days}
    assert len(days) == 14 and days[0].day == date(2026, 12, 21)
    assert by_day[date(2026, 12, 21)].shifts == (("08:00", "12:00"), ("13:00", "17:00"))
    assert by_day[date(2026, 12, 25)].closed == "Christmas Day"
    assert by_day[date(2026, 12, 26)].closed == "Second Day of Christmas"
    assert by_day[date(2026, 12, 27)].closed == NO_HOURS  # a Sunday
    assert by_day[date(2026, 12, 28)].closed == CLOSED_DAY
    assert by_day[date(2027, 1, 1)].closed == "New Year's Day"  # across the year's end
    assert days[-1].day == date(2027, 1, 3)


def test_a_round_the_clock_calendar_is_open_every_day() -> None:
    days = preview_calendar(_calendar(always_open=True), warsaw(2026, 12, 24, 12))
    assert all(d.always_open and d.closed is None for d in days)


def test_a_calendar_the_clocks_could_not_use_is_not_previewed() -> None:
    with pytest.raises(InvalidCalendar):
        preview_calendar(_calendar(holiday_country="XX"), warsaw(2026, 12, 24, 12))


def test_the_country_picker_offers_the_known_countries_by_name() -> None:
    countries = dict(holiday_countries())
    assert countries["PL"] == "Poland"
    assert countries["UA"] == "Ukraine"
    assert countries["US"] == "United States"
