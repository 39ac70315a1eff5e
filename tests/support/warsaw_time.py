"""Wall-clock times in Warsaw, where the demo and test contact centres keep their hours."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

WARSAW = ZoneInfo("Europe/Warsaw")


def warsaw(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """That moment on a Warsaw wall clock, as the UTC instant the database stores."""
    return datetime(year, month, day, hour, minute, second, tzinfo=WARSAW).astimezone(UTC)
