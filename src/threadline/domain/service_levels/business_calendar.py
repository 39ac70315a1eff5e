"""Business-hours arithmetic: when is a team working, and when is N working hours from now.

A calendar is a time zone, a weekly pattern of wall-clock ranges (several per weekday, so split
shifts and lunch breaks are plain data), a set of closed dates (public holidays plus custom
ones) — or simply 24x7.

Rules (also in docs/service-levels.md, "Business calendars"):

* Ranges are half-open in wall-clock time, ``[start, end)``. A range whose end is 00:00 runs to
  midnight; a range whose end is earlier than its start runs past midnight into the next day
  (a night shift 22:00-06:00 is 22:00-24:00 on its day plus 00:00-06:00 on the following day).
* A deadline that lands exactly on the end of a range stays there (8 working hours from 09:00 on
  a 09:00-17:00 day is 17:00 that day, never 09:00 the next). Counting that starts outside
  working time starts at the next working moment.
* Holidays close the whole local calendar date, 00:00-24:00, including the morning part of a
  night shift that began the evening before.
* Daylight saving: every day is laid out in its own wall-clock time and each range endpoint is
  converted to UTC separately, so working time is always real elapsed time. A wall-clock time
  that does not exist (the spring-forward gap) is moved to the instant the clocks jump, so a
  02:00-03:00 range on that day is empty and a 00:00-06:00 range lasts 5 real hours. A
  wall-clock time that happens twice (the fall-back overlap) means its first occurrence
  (``fold=0``), so a 00:00-06:00 range on that day lasts 7 real hours.

Internally everything is integer microseconds since the Unix epoch (UTC), so the arithmetic is
exact: adding a and then b is the same as adding a+b, to the microsecond.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from threadline.domain.errors import DomainError

__all__ = [
    "BusinessCalendar",
    "InvalidCalendar",
    "holidays_for",
    "recompute_deadlines",
]

SECOND = 1_000_000
DAY_SECONDS = 86_400
DAY = DAY_SECONDS * SECOND
WEEKDAYS = range(7)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# Beyond this many cached days the cache starts afresh, so a long-lived process that computes
# deadlines over decades cannot grow without bound.
_DAY_CACHE_LIMIT = 50_000
# No real calendar needs this long to find its next working moment; past it the calendar has
# effectively no working time (e.g. every working day is a holiday) and we stop looking.
_SEARCH_LIMIT_DAYS = 3 * 366
_FAR_PAST = -(1 << 80)

# One day laid out in UTC microseconds: (start, end) pairs, sorted and disjoint.
DayRanges = tuple[tuple[int, int], ...]
# A weekday's pattern in wall-clock seconds after local midnight, 0..86400.
WallRanges = tuple[tuple[int, int], ...]


class InvalidCalendar(DomainError):
    title = "Invalid business calendar"


def holidays_for(country: str, subdivision: str | None, years: Iterable[int]) -> set[date]:
    """Public holidays of a country (ISO 3166-1, e.g. "PL") and optional subdivision.

    Custom closing dates are merged by the caller: ``holidays_for("PL", None, r) | {date(...)}``.
    """
    import holidays  # imported here: only calendar set-up needs it, not the arithmetic

    try:
        found = holidays.country_holidays(country, subdiv=subdivision, years=list(years))
    except NotImplementedError as error:
        raise InvalidCalendar(
            f"no public holidays are known for country {country!r}"
            + (f" subdivision {subdivision!r}" if subdivision else "")
        ) from error
    return set(found.keys())


def _to_micros(moment: datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a time zone-aware datetime is required, got {moment!r}")
    elapsed = moment - _EPOCH
    return (elapsed.days * DAY_SECONDS + elapsed.seconds) * SECOND + elapsed.microseconds


def _from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _duration_micros(duration: timedelta) -> int:
    micros = (duration.days * DAY_SECONDS + duration.seconds) * SECOND + duration.microseconds
    if micros < 0:
        raise ValueError(f"working time cannot be negative, got {duration}")
    return micros


def _seconds_of_day(moment: time) -> int:
    if moment.tzinfo is not None:
        raise InvalidCalendar("working hours are wall-clock times without a time zone")
    if moment.microsecond:
        raise InvalidCalendar("working hours are given to the second")
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def _merge(ranges: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def _weekly_pattern(
    weekly: Mapping[int, Iterable[tuple[time, time]]],
) -> tuple[WallRanges, ...]:
    per_day: list[list[tuple[int, int]]] = [[] for _ in WEEKDAYS]
    for weekday, ranges in weekly.items():
        if weekday not in WEEKDAYS:
            raise InvalidCalendar(f"weekday must be 0 (Monday) .. 6 (Sunday), got {weekday}")
        for opens, closes in ranges:
            start, end = _seconds_of_day(opens), _seconds_of_day(closes)
            if end == 0:
                end = DAY_SECONDS
            if end == start:
                raise InvalidCalendar(f"the range {opens}-{closes} is empty")
            if end > start:
                per_day[weekday].append((start, end))
            else:  # past midnight: the rest belongs to the next weekday
                per_day[weekday].append((start, DAY_SECONDS))
                per_day[(weekday + 1) % 7].append((0, end))
    return tuple(_merge(day) for day in per_day)


def _wall_to_micros(day: date, seconds: int, zone: ZoneInfo) -> int:
    """UTC microseconds of a wall-clock time on a local date (see the DST rules above)."""
    naive = datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)
    first = naive.replace(tzinfo=zone)  # fold=0: the first occurrence of an ambiguous time
    micros = _to_micros(first)
    local = _from_micros(micros).astimezone(zone)
    if local.replace(tzinfo=None) == naive:
        return micros
    # The time falls in a spring-forward gap: use the instant the clocks jumped. With fold=0 the
    # time maps to just after the jump, with fold=1 to just before; the jump lies in between.
    before = _to_micros(naive.replace(tzinfo=zone, fold=1)) // SECOND
    after = micros // SECOND
    offset_after = local.utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if _from_micros(middle * SECOND).astimezone(zone).utcoffset() == offset_after:
            after = middle
        else:
            before = middle
    return after * SECOND


@dataclass(frozen=True)
class BusinessCalendar:
    """When a team works. Build it with `build` or `twenty_four_seven`; it never changes."""

    timezone: str
    weekly: tuple[WallRanges, ...]
    holidays: frozenset[date]
    always_open: bool
    _zone: ZoneInfo = field(compare=False, repr=False)
    # Durations above this try to jump whole weeks; shorter ones walk day by day, which is
    # cheaper for them. Half a nominal week still catches weeks shortened by holidays.
    _skip_from: int = field(compare=False, repr=False)
    # The zone's offset from UTC at some moment, to guess local dates from UTC instants.
    _usual_offset: int = field(compare=False, repr=False)
    _days: dict[int, DayRanges] = field(default_factory=dict, compare=False, repr=False)
    _weeks: dict[int, int] = field(default_factory=dict, compare=False, repr=False)
    _midnights: dict[int, int] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(
        cls,
        timezone: str,
        weekly: Mapping[int, Iterable[tuple[time, time]]],
        holidays: Iterable[date] = frozenset(),
        always_open: bool = False,
    ) -> BusinessCalendar:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise InvalidCalendar(f"unknown time zone {timezone!r}") from error
        pattern = _weekly_pattern(weekly)
        if not always_open and not any(pattern):
            raise InvalidCalendar("a business calendar needs at least one working range")
        week = sum(end - start for day in pattern for start, end in day) * SECOND
        offset = datetime(2000, 1, 1, tzinfo=zone).utcoffset() or timedelta(0)
        usual_offset = offset // timedelta(microseconds=1)
        return cls(
            timezone, pattern, frozenset(holidays), always_open, zone, week // 2, usual_offset
        )

    @classmethod
    def twenty_four_seven(cls, timezone: str = "UTC") -> BusinessCalendar:
        return cls.build(timezone, {}, always_open=True)

    # -- questions -------------------------------------------------------------------------

    def is_working(self, moment: datetime) -> bool:
        if self.always_open:
            _to_micros(moment)  # still refuse naive datetimes
            return True
        at = _to_micros(moment)
        return any(start <= at < end for start, end in self._ranges(self._ordinal_of(at)))

    def next_working_moment(self, moment: datetime) -> datetime:
        """The moment itself when working, else the start of the next working range (UTC)."""
        at = _to_micros(moment)
        if self.always_open:
            return _from_micros(at)
        ordinal = self._ordinal_of(at)
        for _ in range(_SEARCH_LIMIT_DAYS):
            for start, end in self._ranges(ordinal):
                if at < end:
                    return _from_micros(max(at, start))
            ordinal += 1
        raise InvalidCalendar("the calendar has no working time in the next three years")

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of working time after `start`, as an aware UTC datetime."""
        at = _to_micros(start)
        remaining = _duration_micros(duration)
        if self.always_open:
            return _from_micros(at + remaining)
        return _from_micros(self._add(at, remaining))

    def working_time_between(self, earlier: datetime, later: datetime) -> timedelta:
        """Working time in [earlier, later); zero when `later` is not after `earlier`."""
        low, high = _to_micros(earlier), _to_micros(later)
        if high <= low:
            return timedelta(0)
        if self.always_open:
            return timedelta(microseconds=high - low)
        return timedelta(microseconds=self._between(low, high))

    @property
    def nominal_week(self) -> timedelta:
        """Working time in an ordinary week (no holidays, no clock change)."""
        if self.always_open:
            return timedelta(days=7)
        return timedelta(seconds=sum(end - start for day in self.weekly for start, end in day))

    # -- arithmetic on UTC microseconds -----------------------------------------------------

    def _add(self, at: int, remaining: int) -> int:
        ordinal = self._ordinal_of(at)
        days = self._days
        for _ in range(_SEARCH_LIMIT_DAYS):
            ranges = days.get(ordinal)
            if ranges is None:
                ranges = self._ranges(ordinal)
            for start, end in ranges:
                if at <= end:
                    cursor = start if at < start else at
                    available = end - cursor
                    if remaining <= available:
                        return cursor + remaining
                    remaining -= available
            ordinal += 1
            at = _FAR_PAST  # every range from here on lies wholly after the start
            if remaining > self._skip_from:  # long durations: jump over whole weeks
                week = self._week_total(ordinal)
                while remaining > week > 0:
                    remaining -= week
                    ordinal += 7
                    week = self._week_total(ordinal)
        raise InvalidCalendar("the calendar has no working time in the next three years")

    def _between(self, low: int, high: int) -> int:
        total = 0
        ordinal = self._ordinal_of(low)
        last = self._ordinal_of(high)
        while ordinal <= last:
            for start, end in self._ranges(ordinal):
                if end > low and start < high:
                    total += min(end, high) - max(start, low)
            ordinal += 1
            # Days after the first start after `low`; whole weeks before the last day count whole.
            while ordinal + 7 <= last:
                total += self._week_total(ordinal)
                ordinal += 7
        return total

    # -- per-day layout, cached --------------------------------------------------------------

    def _ordinal_of(self, at: int) -> int:
        """The latest local date (as an ordinal) whose midnight is not after the instant `at`.

        Every range of an earlier date has ended by that midnight, so scanning forward from this
        date finds every range that matters for `at`. Guessed arithmetically, then corrected
        against the cached midnights (cheaper than a time-zone conversion per call).
        """
        ordinal = (at + self._usual_offset) // DAY + _EPOCH_ORDINAL
        while at < self._midnight(ordinal):
            ordinal -= 1
        while at >= self._midnight(ordinal + 1):
            ordinal += 1
        return ordinal

    def _midnight(self, ordinal: int) -> int:
        cached = self._midnights.get(ordinal)
        if cached is None:
            cached = _wall_to_micros(date.fromordinal(ordinal), 0, self._zone)
            self._midnights[ordinal] = cached
        return cached

    def _ranges(self, ordinal: int) -> DayRanges:
        cached = self._days.get(ordinal)
        if cached is not None:
            return cached
        if len(self._days) >= _DAY_CACHE_LIMIT:
            self._days.clear()
            self._weeks.clear()
            self._midnights.clear()
        day = date.fromordinal(ordinal)
        laid_out: DayRanges = ()
        if day not in self.holidays:
            converted = (
                (
                    _wall_to_micros(day, start, self._zone),
                    _wall_to_micros(day, end, self._zone),
                )
                for start, end in self.weekly[day.weekday()]
            )
            laid_out = _merge(converted)
        self._days[ordinal] = laid_out
        return laid_out

    def _week_total(self, ordinal: int) -> int:
        cached = self._weeks.get(ordinal)
        if cached is None:
            cached = sum(
                end - start
                for day in range(ordinal, ordinal + 7)
                for start, end in self._ranges(day)
            )
            self._weeks[ordinal] = cached
        return cached


RowId = TypeVar("RowId", bound=Hashable)


def recompute_deadlines(
    calendar: BusinessCalendar,
    rows: Iterable[tuple[RowId, datetime, timedelta | int]],
) -> list[tuple[RowId, datetime]]:
    """New due times for open deadlines after a calendar change.

    Each row is (id, counting started at, target as working time or whole working seconds);
    the answer pairs each id with its due time under `calendar`, in UTC.
    """
    add = calendar.add_working_time
    return [
        (row_id, add(started_at, timedelta(seconds=target) if isinstance(target, int) else target))
        for row_id, started_at, target in rows
    ]
