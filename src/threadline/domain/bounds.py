"""The ranges a number or a moment from outside may take: what the database columns and date
arithmetic hold. Anything beyond is refused as invalid before it gets there, never left to
fail there (an overflow, a 500).

Ids are BIGINT (SQLite: INTEGER, 64 bits); counts, positions and seconds are stored in 32-bit
INTEGER columns; Python's calendar ends in the years 1 and 9999, in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

# The largest integer every JSON client reads exactly (2^53 - 1): any id up to it can be
# looked up, and one beyond it names no row.
MAX_ROW_ID = 2**53 - 1
# Seconds a person sets (targets, delays, validity, windows): up to a year.
MAX_SECONDS = 366 * 24 * 3600
# Counts, sizes, positions and capacities: what a 32-bit INTEGER holds.
MAX_COUNT = 2**31 - 1
# Any date a person means, with room for arithmetic on it (a deadline a year on) that stays
# inside the calendar in every time zone.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def is_row_id(value: int) -> bool:
    return 1 <= value <= MAX_ROW_ID


def checked_moment(value: datetime) -> datetime:
    """`value` if it is an aware moment from EARLIEST to LATEST; ValueError says why not."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("give the time zone or offset of the moment")
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00:00+14:00 is a moment before the calendar begins.
        raise ValueError("the date is outside the calendar once converted to UTC") from None
    if not EARLIEST <= in_utc < LATEST:
        raise ValueError(f"give a date from {EARLIEST.year} to {LATEST.year - 1}")
    return value


def row_id_from_text(text: str) -> int | None:
    """The id a page's form or query string names ("12"), or None for anything else."""
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(MAX_ROW_ID))):
        return None
    value = int(text)
    return value if is_row_id(value) else None
