"""Reading the console's calendar form into the fields `create_calendar` / `update_calendar`
take, and laying a calendar out as that form's rows.

Each weekday has a few shift rows (from, to): a split shift is two rows, clearing both times
of a row removes that shift, and the form always offers a blank row more, so shifts are added
without scripts. Closed days are typed one date a line. The use-case checks everything again
(time zone, ranges, country, dates); here only what a form can get wrong is named back."""

from __future__ import annotations

from datetime import time
from typing import Any

from threadline.domain.errors import DomainError

WEEKDAYS = range(7)
# A weekday shows its shifts and a blank row, and at least this many rows.
MIN_SHIFT_ROWS = 2
MAX_SHIFT_ROWS = 6
MAX_CLOSED_DAYS = 1000
# Fields of the form: name, zone, country, subdivision, closed days, always open, the token,
# and a from/to pair per shift row.
MAX_FIELDS = 10 + 7 * MAX_SHIFT_ROWS * 2

Shift = tuple[str, str]


def shift_rows(weekly: dict[str, Any]) -> dict[int, list[Shift]]:
    """Each weekday's shifts as the form shows them, with the blank rows to add more."""
    rows: dict[int, list[Shift]] = {}
    for day in WEEKDAYS:
        shifts: list[Shift] = [(str(a), str(b)) for a, b in weekly.get(str(day), [])]
        blank = max(1, MIN_SHIFT_ROWS - len(shifts))
        rows[day] = [*shifts, *[("", "")] * blank][:MAX_SHIFT_ROWS]
    return rows


def _time_text(text: str, where: str) -> str:
    try:
        return time.fromisoformat(text.strip()).strftime("%H:%M")
    except ValueError:
        raise DomainError(f"{where}: a time is HH:MM, e.g. 08:00") from None


def _weekly(form: dict[str, str], day_names: list[str]) -> dict[str, list[list[str]]]:
    weekly: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        shifts: list[list[str]] = []
        for row in range(MAX_SHIFT_ROWS):
            start = form.get(f"d{day}-{row}-from", "").strip()
            end = form.get(f"d{day}-{row}-to", "").strip()
            if not start and not end:
                continue
            if not start or not end:
                raise DomainError(f"{day_names[day]}: a shift needs both its start and its end")
            shifts.append([_time_text(start, day_names[day]), _time_text(end, day_names[day])])
        if shifts:
            weekly[str(day)] = sorted(shifts)
    return weekly


def closed_days(text: str) -> list[str]:
    days = [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]
    if len(days) > MAX_CLOSED_DAYS:
        raise DomainError(f"a calendar keeps at most {MAX_CLOSED_DAYS} closed days")
    return sorted(set(days))


def calendar_fields(form: dict[str, str], day_names: list[str]) -> dict[str, Any]:
    """The calendar the form describes (the name, zone and country as typed, trimmed)."""
    country = form.get("holiday_country", "").strip().upper()[:2]
    subdivision = form.get("holiday_subdivision", "").strip().upper()[:10]
    return {
        "name": form.get("name", "").strip()[:200],
        "timezone": form.get("timezone", "").strip()[:64] or "UTC",
        "weekly": _weekly(form, day_names),
        "holiday_country": country or None,
        "holiday_subdivision": (subdivision or None) if country else None,
        "custom_holidays": closed_days(form.get("custom_holidays", "")),
        "always_open": form.get("always_open") == "yes",
    }


def entered_calendar(form: dict[str, str]) -> dict[str, Any]:
    """The form as typed, to show again beside the problem (rows kept even if half-filled)."""
    weekly: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        typed = [
            [form.get(f"d{day}-{row}-from", ""), form.get(f"d{day}-{row}-to", "")]
            for row in range(MAX_SHIFT_ROWS)
        ]
        weekly[str(day)] = [pair for pair in typed if pair[0] or pair[1]]
    return {
        "name": form.get("name", ""),
        "timezone": form.get("timezone", ""),
        "weekly": weekly,
        "holiday_country": form.get("holiday_country") or None,
        "holiday_subdivision": form.get("holiday_subdivision") or None,
        "custom_holidays": form.get("custom_holidays", "").split(),
        "always_open": form.get("always_open") == "yes",
    }
