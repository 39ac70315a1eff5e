"""SLA deadline arithmetic: deadlines per second, and recomputing open deadlines after a change.

    .venv/bin/python benchmarks/sla.py [--deadlines 200000] [--open 100000] [--skip-postgres]

1. Deadline computations per second: random starts over a year, working-time targets from two
   minutes to three working days, on a London and a Warsaw calendar with their public holidays
   and a lunch break. Reported cold (each calendar lays out days as it first meets them) and warm.
2. Recomputing the open deadlines after a calendar change (a new closing day and longer hours):
   the pure part (compute them all) and end to end on PostgreSQL (read the open deadlines,
   recompute, write back in bulk with COPY into a temporary table and one UPDATE ... FROM).
   PostgreSQL runs in a throw-away database created on --pg-dsn and dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import time as clock
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

import psycopg

from threadline.config import Settings
from threadline.domain.service_levels.business_calendar import (
    BusinessCalendar,
    holidays_for,
    recompute_deadlines,
)
from threadline.entrypoints.logging_setup import configure_logging

YEAR = 2026
YEARS = range(YEAR - 1, YEAR + 3)
MINUTE = 60
WORKING_DAY = 8 * 3600
# What service levels usually promise: chat minutes, a call-back hour, email working hours, days.
TYPICAL_TARGETS = (2 * MINUTE, 15 * MINUTE, 3600, 4 * 3600, 6 * 3600, WORKING_DAY, 3 * WORKING_DAY)

T = TypeVar("T")


def office_hours(opens: time, closes: time) -> dict[int, list[tuple[time, time]]]:
    return {day: [(opens, time(12)), (time(13), closes)] for day in range(5)}


def london(
    extra_closed: frozenset[date] = frozenset(), closes: time = time(17)
) -> BusinessCalendar:
    closed = holidays_for("GB", "ENG", YEARS) | extra_closed
    return BusinessCalendar.build("Europe/London", office_hours(time(9), closes), closed)


def warsaw(
    extra_closed: frozenset[date] = frozenset(), closes: time = time(17)
) -> BusinessCalendar:
    closed = holidays_for("PL", None, YEARS) | extra_closed
    return BusinessCalendar.build("Europe/Warsaw", office_hours(time(8), closes), closed)


def random_start(rng: random.Random) -> datetime:
    return datetime(YEAR, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(365 * 86_400))


def random_target(rng: random.Random) -> int:
    # Half the targets are the usual round promises, half anything in between.
    if rng.random() < 0.5:
        return rng.choice(TYPICAL_TARGETS)
    return rng.randrange(2 * MINUTE, 3 * WORKING_DAY + 1)


def timed(action: Callable[[], T]) -> tuple[T, float]:
    started = clock.perf_counter()
    result = action()
    return result, clock.perf_counter() - started


def cpu_timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds: on a busy machine the CPU time shows the code's own cost."""
    wall, cpu = clock.perf_counter(), clock.process_time()
    action()
    return clock.perf_counter() - wall, clock.process_time() - cpu


def deadlines_per_second(count: int, seed: int) -> None:
    rng = random.Random(seed)
    work = [
        (rng.random() < 0.5, random_start(rng), timedelta(seconds=random_target(rng)))
        for _ in range(count)
    ]
    calendars = {True: london(), False: warsaw()}

    def run() -> None:
        for in_london, start, target in work:
            calendars[in_london].add_working_time(start, target)

    cold, cold_cpu = cpu_timed(run)
    warm, warm_cpu = cpu_timed(run)
    print(
        f"deadline computations ({count:,}; London/Warsaw with holidays; 2 min .. 3 working days)"
    )
    print(f"  per second, cold  {count / cold:>10,.0f} wall   {count / cold_cpu:>10,.0f} CPU")
    print(f"  per second, warm  {count / warm:>10,.0f} wall   {count / warm_cpu:>10,.0f} CPU")


def open_deadlines(count: int, seed: int) -> list[tuple[int, datetime, int]]:
    rng = random.Random(seed)
    return [(row_id, random_start(rng), random_target(rng)) for row_id in range(1, count + 1)]


def changed_calendar() -> BusinessCalendar:
    # The change: an extra closing day in the middle of the year and an hour longer every day.
    return warsaw(frozenset({date(YEAR, 6, 5)}), closes=time(18))


def recompute_pure(rows: list[tuple[int, datetime, int]]) -> None:
    # A fresh calendar, as after a real change: its days are laid out again as they are met.
    seconds, cpu = cpu_timed(lambda: recompute_deadlines(changed_calendar(), rows))
    print(f"recompute {len(rows):,} open deadlines after a calendar change")
    print(f"  pure (compute only)           {seconds:6.2f} s wall   {cpu:6.2f} s CPU")


def create_database(admin_dsn: str) -> tuple[str, str]:
    name = f"bench_sla_{os.getpid()}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, admin_dsn.rsplit("/", 1)[0] + "/" + name


def drop_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_open_deadlines(conn: psycopg.Connection, rows: list[tuple[int, datetime, int]]) -> None:
    calendar = warsaw()
    conn.execute(
        "CREATE TABLE sla_deadlines ("
        " id bigint PRIMARY KEY, started_at timestamptz NOT NULL,"
        " target_seconds integer NOT NULL, due_at timestamptz NOT NULL)"
    )
    with conn.cursor().copy(
        "COPY sla_deadlines (id, started_at, target_seconds, due_at) FROM STDIN"
    ) as copy:
        for (row_id, due_at), (_, started_at, target) in zip(
            recompute_deadlines(calendar, rows), rows, strict=True
        ):
            copy.write_row((row_id, started_at, target, due_at))
    conn.commit()


def recompute_in_database(conn: psycopg.Connection) -> int:
    """Read every open deadline, recompute it under the new calendar, write back in bulk."""
    calendar = changed_calendar()
    with conn.cursor() as cursor:
        cursor.execute("SELECT id, started_at, target_seconds FROM sla_deadlines")
        recomputed = recompute_deadlines(calendar, cursor.fetchall())
        cursor.execute(
            "CREATE TEMPORARY TABLE recomputed (id bigint, due_at timestamptz) ON COMMIT DROP"
        )
        with cursor.copy("COPY recomputed (id, due_at) FROM STDIN") as copy:
            for row in recomputed:
                copy.write_row(row)
        cursor.execute(
            "UPDATE sla_deadlines SET due_at = recomputed.due_at FROM recomputed"
            " WHERE sla_deadlines.id = recomputed.id AND sla_deadlines.due_at <> recomputed.due_at"
        )
        changed = cursor.rowcount
    conn.commit()
    return changed


def check_written(conn: psycopg.Connection, rows: list[tuple[int, datetime, int]]) -> None:
    calendar = changed_calendar()
    sample = random.Random(0).sample(rows, 200)
    for row_id, started_at, target in sample:
        found = conn.execute("SELECT due_at FROM sla_deadlines WHERE id = %s", (row_id,)).fetchone()
        expected = calendar.add_working_time(started_at, timedelta(seconds=target))
        assert found is not None and found[0] == expected, (row_id, found, expected)


def recompute_postgres(admin_dsn: str, rows: list[tuple[int, datetime, int]]) -> None:
    name, dsn = create_database(admin_dsn)
    try:
        with psycopg.connect(dsn) as conn:
            load_open_deadlines(conn, rows)
            changed, seconds = timed(lambda: recompute_in_database(conn))
            check_written(conn, rows)
        print(
            f"  end to end on PostgreSQL      {seconds:6.2f} s wall"
            f"   (SELECT + recompute + COPY + UPDATE; {changed:,} due times changed)"
        )
    finally:
        drop_database(admin_dsn, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deadlines", type=int, default=200_000)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--pg-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()

    deadlines_per_second(args.deadlines, args.seed)
    rows = open_deadlines(args.open, args.seed)
    recompute_pure(rows)
    if not args.skip_postgres:
        recompute_postgres(args.pg_dsn, rows)


if __name__ == "__main__":
    # Our log lines at warning and above only: structlog unconfigured prints every one.
    configure_logging(Settings(log_level="WARNING", secret_key="benchmarks-only"))
    main()
