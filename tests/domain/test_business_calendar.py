"""Business-hours arithmetic: exact cases from the issue, edges, DST and hypothesis properties.

Pure domain tests: no database, no clock, fast.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threadline.domain.service_levels.business_calendar import (
    BusinessCalendar,
    InvalidCalendar,
    holidays_for,
    recompute_deadlines,
)

LONDON = ZoneInfo("Europe/London")
WARSAW = ZoneInfo("Europe/Warsaw")
MON_FRI = range(5)
ONE_MICROSECOND = timedelta(microseconds=1)

# Europe/Warsaw 2026: clocks go forward on Sunday 29 March (02:00 -> 03:00) and back on Sunday
# 25 October (03:00 -> 02:00).
SPRING_FORWARD = date(2026, 3, 29)
FALL_BACK = date(2026, 10, 25)


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


def london_split_shift(closes: time, holidays: set[date] | None = None) -> BusinessCalendar:
    weekly = {day: [(time(9), time(12)), (time(13), closes)] for day in MON_FRI}
    return BusinessCalendar.build("Europe/London", weekly, holidays or set())


def warsaw_office() -> BusinessCalendar:
    weekly = {day: [(time(8), time(16))] for day in MON_FRI}
    return BusinessCalendar.build(
        "Europe/Warsaw", weekly, holidays_for("PL", None, range(2025, 2029))
    )


def warsaw_nights() -> BusinessCalendar:
    # A night desk every night 22:00-06:00, so the DST Sunday mornings are inside a range,
    # plus a Monday day shift.
    weekly = {day: [(time(22), time(6))] for day in range(7)}
    weekly[0] = [*weekly[0], (time(9), time(17))]
    return BusinessCalendar.build("Europe/Warsaw", weekly)


def warsaw_small_hours() -> BusinessCalendar:
    # Ranges whose ends sit exactly on the DST transitions.
    weekly = {day: [(time(0), time(2)), (time(2), time(3)), (time(4), time(5))] for day in range(7)}
    return BusinessCalendar.build("Europe/Warsaw", weekly)


def at(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=zone)


# -- the exact cases of the issue -------------------------------------------------------------


def test_christmas_in_london_skips_the_holidays_and_the_weekend() -> None:
    calendar = london_split_shift(time(17), {date(2026, 12, 25), date(2026, 12, 28)})

    due = calendar.add_working_time(at(LONDON, 2026, 12, 24, 16, 30), hours(8))

    # 30 min on Thu 24, Fri 25 holiday, weekend, Mon 28 holiday, 7 h on Tue 29, 30 min on Wed 30.
    assert due == at(LONDON, 2026, 12, 30, 9, 30)
    assert due.tzinfo is UTC


def test_a_week_with_lunch_breaks_is_forty_working_hours() -> None:
    calendar = london_split_shift(time(18))

    worked = calendar.working_time_between(at(LONDON, 2016, 1, 18, 9), at(LONDON, 2016, 1, 22, 18))

    assert worked == hours(40)


def test_polish_public_holidays_come_from_the_holidays_package() -> None:
    polish = holidays_for("PL", None, range(2026, 2027))

    assert date(2026, 11, 11) in polish  # Independence Day
    assert date(2026, 12, 25) in polish
    assert date(2026, 11, 10) not in polish


def test_friday_afternoon_email_in_warsaw_is_due_on_monday() -> None:
    # Fri 16:00 is the end of the day: counting starts Mon 08:00, + 6 h = 14:00.
    due = warsaw_office().add_working_time(at(WARSAW, 2026, 11, 6, 16), hours(6))

    assert due == at(WARSAW, 2026, 11, 9, 14)


def test_independence_day_is_skipped() -> None:
    # Tue 10 Nov 14:00: 2 h on Tuesday, Wed 11 Nov is a holiday, 4 h on Thursday.
    calendar = warsaw_office()

    due = calendar.add_working_time(at(WARSAW, 2026, 11, 10, 14), hours(6))

    assert due == at(WARSAW, 2026, 11, 12, 12)
    assert not calendar.is_working(at(WARSAW, 2026, 11, 11, 10))
    assert calendar.working_time_between(
        at(WARSAW, 2026, 11, 10), at(WARSAW, 2026, 11, 13)
    ) == hours(16)


def test_custom_closing_dates_merge_with_public_holidays() -> None:
    closed = holidays_for("PL", None, range(2026, 2027)) | {date(2026, 11, 12)}
    weekly = {day: [(time(8), time(16))] for day in MON_FRI}
    calendar = BusinessCalendar.build("Europe/Warsaw", weekly, closed)

    due = calendar.add_working_time(at(WARSAW, 2026, 11, 10, 14), hours(6))

    assert due == at(WARSAW, 2026, 11, 13, 12)


def test_unknown_country_is_refused_with_a_reason() -> None:
    with pytest.raises(InvalidCalendar, match="XX"):
        holidays_for("XX", None, range(2026, 2027))


# -- edges of ranges ---------------------------------------------------------------------------


def test_a_deadline_on_the_end_of_a_range_stays_there() -> None:
    weekly = {day: [(time(9), time(17))] for day in MON_FRI}
    calendar = BusinessCalendar.build("Europe/London", weekly)

    assert calendar.add_working_time(at(LONDON, 2026, 6, 1, 9), hours(8)) == at(
        LONDON, 2026, 6, 1, 17
    )
    # ... and one microsecond more is the next morning.
    assert (
        calendar.add_working_time(at(LONDON, 2026, 6, 1, 9), hours(8) + ONE_MICROSECOND)
        == at(LONDON, 2026, 6, 2, 9) + ONE_MICROSECOND
    )


def test_a_deadline_at_the_start_of_lunch_stays_before_lunch() -> None:
    calendar = london_split_shift(time(17))

    assert calendar.add_working_time(at(LONDON, 2026, 6, 1, 9), hours(3)) == at(
        LONDON, 2026, 6, 1, 12
    )


def test_counting_outside_working_time_starts_at_the_next_working_moment() -> None:
    calendar = london_split_shift(time(17))

    saturday = at(LONDON, 2026, 6, 6, 11)
    assert not calendar.is_working(saturday)
    assert calendar.next_working_moment(saturday) == at(LONDON, 2026, 6, 8, 9)
    assert calendar.add_working_time(saturday, hours(1)) == at(LONDON, 2026, 6, 8, 10)
    assert calendar.add_working_time(at(LONDON, 2026, 6, 8, 12, 30), hours(1)) == at(
        LONDON, 2026, 6, 8, 14
    )
    assert calendar.add_working_time(saturday, timedelta(0)) == at(LONDON, 2026, 6, 8, 9)


def test_working_moments() -> None:
    calendar = london_split_shift(time(17))

    assert calendar.is_working(at(LONDON, 2026, 6, 8, 9))  # ranges include their start
    assert not calendar.is_working(at(LONDON, 2026, 6, 8, 12))  # ... but not their end
    assert calendar.next_working_moment(at(LONDON, 2026, 6, 8, 10)) == at(LONDON, 2026, 6, 8, 10)
    assert calendar.next_working_moment(at(LONDON, 2026, 6, 8, 17)) == at(LONDON, 2026, 6, 9, 9)


def test_working_time_between_is_zero_when_the_end_is_not_later() -> None:
    calendar = london_split_shift(time(17))

    assert calendar.working_time_between(
        at(LONDON, 2026, 6, 8, 11), at(LONDON, 2026, 6, 8, 10)
    ) == (timedelta(0))
    assert calendar.working_time_between(
        at(LONDON, 2026, 6, 8, 11), at(LONDON, 2026, 6, 8, 11)
    ) == (timedelta(0))


def test_a_night_shift_runs_past_midnight_and_a_holiday_closes_its_morning() -> None:
    weekly = {3: [(time(22), time(6))]}  # Thursday night into Friday
    open_friday = BusinessCalendar.build("Europe/London", weekly)
    closed_friday = BusinessCalendar.build("Europe/London", weekly, {date(2026, 6, 5)})

    thursday_night = at(LONDON, 2026, 6, 4, 22)
    assert open_friday.add_working_time(thursday_night, hours(5)) == at(LONDON, 2026, 6, 5, 3)
    # 2 h on Thursday night, Friday morning closed, 2 h next Thursday night, 1 h on Friday.
    assert closed_friday.add_working_time(thursday_night, hours(5)) == at(LONDON, 2026, 6, 12, 1)


def test_long_durations_jump_weeks_and_agree_with_small_steps() -> None:
    calendar = warsaw_office()
    start = at(WARSAW, 2026, 10, 1, 10, 15)

    stepped = start
    for _ in range(400):
        stepped = calendar.add_working_time(stepped, hours(1))

    assert calendar.add_working_time(start, hours(400)) == stepped
    assert calendar.working_time_between(start, stepped) == hours(400)


def test_bad_calendars_and_inputs_are_refused() -> None:
    with pytest.raises(InvalidCalendar, match="time zone"):
        BusinessCalendar.build("Mars/Olympus", {0: [(time(9), time(17))]})
    with pytest.raises(InvalidCalendar, match="weekday"):
        BusinessCalendar.build("UTC", {7: [(time(9), time(17))]})
    with pytest.raises(InvalidCalendar, match="at least one"):
        BusinessCalendar.build("UTC", {})
    with pytest.raises(ValueError, match="aware"):
        london_split_shift(time(17)).add_working_time(datetime(2026, 6, 8, 9), hours(1))
    with pytest.raises(ValueError, match="negative"):
        london_split_shift(time(17)).add_working_time(at(LONDON, 2026, 6, 8, 9), -hours(1))


def test_calendars_are_immutable_values() -> None:
    first, second = london_split_shift(time(17)), london_split_shift(time(17))

    assert first == second and hash(first) == hash(second)
    assert first != london_split_shift(time(18))
    with pytest.raises(AttributeError):
        first.timezone = "UTC"  # type: ignore[misc]


# -- daylight saving ---------------------------------------------------------------------------


def test_a_night_range_is_shorter_when_the_clocks_go_forward_and_longer_when_they_go_back() -> None:
    calendar = warsaw_nights()

    assert calendar.working_time_between(
        at(WARSAW, 2026, 3, 28, 12), at(WARSAW, 2026, 3, 29, 12)
    ) == hours(7)
    assert calendar.working_time_between(
        at(WARSAW, 2026, 10, 24, 12), at(WARSAW, 2026, 10, 25, 12)
    ) == hours(9)
    # 4 h after Saturday 22:00 is 03:00 wall-clock time on the night of the clocks going forward.
    assert calendar.add_working_time(at(WARSAW, 2026, 3, 28, 22), hours(4)) == at(
        WARSAW, 2026, 3, 29, 3
    )
    # On the night the clocks go back, 4 real hours after 22:00 is the first pass through 02:00.
    assert calendar.add_working_time(at(WARSAW, 2026, 10, 24, 22), hours(4)) == datetime(
        2026, 10, 25, 0, tzinfo=UTC
    )


def test_ranges_inside_the_clock_change_hour() -> None:
    calendar = warsaw_small_hours()

    def worked_on(day: date) -> timedelta:
        midnight = at(WARSAW, day.year, day.month, day.day)
        return calendar.working_time_between(midnight, midnight + timedelta(days=1))

    # 02:00-03:00 does not exist on the spring-forward day; both ranges around it stay.
    assert worked_on(SPRING_FORWARD) == hours(3)
    # 02:00-03:00 happens twice on the fall-back day: both hours are worked.
    assert worked_on(FALL_BACK) == hours(5)
    assert worked_on(date(2026, 6, 14)) == hours(4)


def test_a_range_starting_in_the_missing_hour_starts_when_the_clocks_jump() -> None:
    weekly = {6: [(time(2, 30), time(4))]}
    calendar = BusinessCalendar.build("Europe/Warsaw", weekly)

    assert calendar.next_working_moment(at(WARSAW, 2026, 3, 29, 1)) == at(WARSAW, 2026, 3, 29, 3)
    assert calendar.add_working_time(at(WARSAW, 2026, 3, 29, 1), hours(1)) == at(
        WARSAW, 2026, 3, 29, 4
    )


def test_twenty_four_seven_counts_real_hours_across_the_clock_change() -> None:
    calendar = BusinessCalendar.twenty_four_seven()
    saturday_noon = at(WARSAW, 2026, 3, 28, 12)

    due = calendar.add_working_time(saturday_noon, hours(24))

    assert due - saturday_noon == hours(24)
    assert due.astimezone(WARSAW) == at(WARSAW, 2026, 3, 29, 13)
    assert calendar.is_working(saturday_noon)
    assert calendar.working_time_between(saturday_noon, due) == hours(24)
    assert calendar.nominal_week == timedelta(days=7)


# -- properties --------------------------------------------------------------------------------

CALENDARS = {
    "london": london_split_shift(time(17), holidays_for("GB", "ENG", range(2025, 2029))),
    "warsaw": warsaw_office(),
    "nights": warsaw_nights(),
    "small_hours": warsaw_small_hours(),
    "always": BusinessCalendar.twenty_four_seven("Europe/Warsaw"),
    # Santiago changes its clocks at midnight: 24:00 -> 23:00 in April, 24:00 -> 01:00 in September.
    "santiago": BusinessCalendar.build(
        "America/Santiago",
        {day: [(time(0), time(2)), (time(9), time(17)), (time(22), time(0))] for day in range(7)},
    ),
}

WINDOW_START = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW_MICROS = 366 * 86_400 * 1_000_000


def moments_around(day: date) -> st.SearchStrategy[datetime]:
    centre = datetime(day.year, day.month, day.day, tzinfo=UTC)
    span = 3 * 86_400 * 1_000_000
    return st.integers(-span, span).map(lambda micros: centre + timedelta(microseconds=micros))


moments = st.one_of(
    st.integers(0, WINDOW_MICROS).map(lambda micros: WINDOW_START + timedelta(microseconds=micros)),
    st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(WARSAW)
    ),
    moments_around(SPRING_FORWARD),
    moments_around(FALL_BACK),
    moments_around(date(2026, 4, 5)),
    moments_around(date(2026, 9, 6)),
)
# Minutes to a few working weeks, to the microsecond.
durations = st.integers(0, 200 * 3600 * 1_000_000).map(
    lambda micros: timedelta(microseconds=micros)
)
calendars = st.sampled_from(sorted(CALENDARS)).map(CALENDARS.__getitem__)
quick = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@quick
@given(calendars, moments, durations, durations)
def test_adding_a_then_b_equals_adding_a_plus_b(
    calendar: BusinessCalendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    stepwise = calendar.add_working_time(calendar.add_working_time(start, first), second)

    assert stepwise == calendar.add_working_time(start, first + second)


@quick
@given(calendars, moments, durations)
def test_a_deadline_never_lands_outside_working_time(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    due = calendar.add_working_time(start, duration)

    assert due.tzinfo is UTC
    assert due >= start
    at_end_of_range = calendar.is_working(due - ONE_MICROSECOND)
    assert calendar.is_working(due) or at_end_of_range


@quick
@given(calendars, moments, durations)
def test_working_time_up_to_a_deadline_is_the_duration(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    due = calendar.add_working_time(start, duration)

    assert calendar.working_time_between(start, due) == duration


@quick
@given(calendars, moments, moments)
def test_working_time_between_adds_up_over_a_split(
    calendar: BusinessCalendar, first: datetime, second: datetime
) -> None:
    # In UTC: Python compares and subtracts datetimes of one zone by their wall-clock readings.
    earlier, later = sorted((first.astimezone(UTC), second.astimezone(UTC)))
    middle = earlier + (later - earlier) / 3

    whole = calendar.working_time_between(earlier, later)

    assert whole == calendar.working_time_between(earlier, middle) + calendar.working_time_between(
        middle, later
    )
    assert whole <= later - earlier


def wall_clock_is_in_range(moment: datetime, ranges: list[tuple[time, time]]) -> bool:
    wall = moment.astimezone(WARSAW).time().replace(tzinfo=None, fold=0)
    return any(
        opens <= wall < closes or (closes == time(0) and wall >= opens) for opens, closes in ranges
    )


@quick
@given(st.one_of(moments_around(SPRING_FORWARD), moments_around(FALL_BACK)))
def test_working_means_the_wall_clock_is_inside_a_range_across_dst(moment: datetime) -> None:
    # Every night 22:00-06:00: split at midnight it is 00:00-06:00 and 22:00-24:00 each day.
    night = [(time(0), time(6)), (time(22), time(0))]
    small_hours = [(time(0), time(2)), (time(2), time(3)), (time(4), time(5))]
    is_monday = moment.astimezone(WARSAW).weekday() == 0
    monday_day = [(time(9), time(17))] if is_monday else []

    assert CALENDARS["nights"].is_working(moment) == wall_clock_is_in_range(
        moment, night + monday_day
    )
    assert CALENDARS["small_hours"].is_working(moment) == wall_clock_is_in_range(
        moment, small_hours
    )


@quick
@given(calendars, moments)
def test_the_next_working_moment_is_working_and_nothing_is_skipped(
    calendar: BusinessCalendar, moment: datetime
) -> None:
    upcoming = calendar.next_working_moment(moment)

    assert calendar.is_working(upcoming)
    assert calendar.working_time_between(moment, upcoming) == timedelta(0)
    # In UTC: a datetime in a DST gap or overlap never compares equal across zones (PEP 495).
    assert upcoming >= moment.astimezone(UTC)
    assert (upcoming == moment.astimezone(UTC)) == calendar.is_working(moment)


def test_deadlines_are_recomputed_in_bulk_after_a_calendar_change() -> None:
    before = warsaw_office()
    after = BusinessCalendar.build(
        "Europe/Warsaw",
        {day: [(time(8), time(16))] for day in MON_FRI},
        holidays_for("PL", None, range(2026, 2027)) | {date(2026, 11, 9)},
    )
    rows: list[tuple[str, datetime, timedelta | int]] = [
        ("email", at(WARSAW, 2026, 11, 6, 16), 6 * 3600),
        ("call", at(WARSAW, 2026, 11, 6, 15), timedelta(hours=1)),
    ]

    assert recompute_deadlines(before, rows)[0] == ("email", at(WARSAW, 2026, 11, 9, 14))
    assert recompute_deadlines(after, rows) == [
        ("email", at(WARSAW, 2026, 11, 10, 14)),
        ("call", at(WARSAW, 2026, 11, 6, 16)),
    ]
