"""Public holidays by country, with their names: what a calendar's country closes and which
countries can be chosen (those the `holidays` package knows)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from functools import cache

from threadline.domain.service_levels.business_calendar import InvalidCalendar

_WORD_START = re.compile(r"(?<=[a-z])(?=[A-Z])")


def holiday_names(country: str, subdivision: str | None, years: Iterable[int]) -> dict[date, str]:
    """Each public holiday of the country (ISO 3166-1, e.g. "PL") in those years, by its name."""
    import holidays  # imported here: only calendar set-up needs it, not the arithmetic

    try:
        found = holidays.country_holidays(
            country, subdiv=subdivision, years=list(years), language="en_US"
        )
    except NotImplementedError as error:
        raise InvalidCalendar(
            f"no public holidays are known for country {country!r}"
            + (f" subdivision {subdivision!r}" if subdivision else "")
        ) from error
    return {day: str(name) for day, name in found.items()}


@cache
def holiday_countries() -> tuple[tuple[str, str], ...]:
    """(ISO code, English name) of every country whose public holidays are known, by name."""
    from holidays.registry import COUNTRIES

    named = {
        entry[1]: _WORD_START.sub(" ", entry[0]) for entry in COUNTRIES.values() if len(entry) > 1
    }
    return tuple(sorted(named.items(), key=lambda pair: pair[1]))
