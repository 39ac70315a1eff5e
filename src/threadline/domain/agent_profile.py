"""An agent's profile: presence and the 1-10 levels of skills and channel competences."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from threadline.domain.channels import Channel
from threadline.domain.errors import DomainError

MIN_LEVEL = 1
MAX_LEVEL = 10


class Presence(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class InvalidProfile(DomainError):
    title = "Invalid agent profile"


def check_levels(what: str, levels: Mapping[str, int]) -> dict[str, int]:
    checked: dict[str, int] = {}
    for name, level in levels.items():
        if not name.strip():
            raise InvalidProfile(f"{what} names must not be empty")
        if isinstance(level, bool) or not MIN_LEVEL <= level <= MAX_LEVEL:
            raise InvalidProfile(
                f"{what} {name!r} has level {level}; levels go from {MIN_LEVEL} to {MAX_LEVEL}"
            )
        checked[name.strip()] = level
    return checked


def check_channel_competences(levels: Mapping[str, int]) -> dict[str, int]:
    known = {c.value for c in Channel}
    for name in levels:
        if name not in known:
            raise InvalidProfile(
                f"unknown channel {name!r} in channel competences; use one of {sorted(known)}"
            )
    return check_levels("channel competence", levels)
