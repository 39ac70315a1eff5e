"""Reading the console's agent form into the profile changes `update_agent` takes.

The form has a row per skill (name and level), a level per channel, the load budget and a
limit per channel; a blank means "not set". What is not a whole number in range is named
back to the admin (the use-case checks the ranges again)."""

from __future__ import annotations

from typing import Any

from threadline.domain.channels import Channel
from threadline.domain.errors import DomainError

# Channels an agent works on (the API channel is integrations', not people's).
AGENT_CHANNELS = tuple(c for c in Channel if c is not Channel.API)
# Empty skill rows the form offers beyond the agent's current skills.
BLANK_SKILL_ROWS = 3
MAX_SKILL_ROWS = 60


def _whole(text: str, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise DomainError(f"{what} must be a whole number")
    return int(text)


def _skills(form: dict[str, str]) -> dict[str, int]:
    skills: dict[str, int] = {}
    for row in range(MAX_SKILL_ROWS):
        name = form.get(f"skill-{row}", "").strip()[:100]
        level = _whole(form.get(f"skill-level-{row}", ""), f"the level of skill {name!r}")
        if name and level is None:
            raise DomainError(f"skill {name!r} needs a level")
        if name and level is not None:
            skills[name] = level
    return skills


def _per_channel(form: dict[str, str], prefix: str, what: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for channel in AGENT_CHANNELS:
        value = _whole(form.get(f"{prefix}-{channel.value}", ""), f"{what} for {channel.value}")
        if value is not None:
            found[channel.value] = value
    return found


def profile_changes(form: dict[str, str], current: dict[str, Any]) -> dict[str, Any]:
    """The changes the form asks for, keeping capacity costs the form does not show."""
    languages = [code.strip().lower() for code in form.get("languages", "").split(",")]
    capacity = {
        key: value for key, value in (current.get("capacity") or {}).items() if key == "costs"
    }
    budget = _whole(form.get("budget", ""), "the load budget")
    if budget is not None:
        capacity["budget"] = budget
    limits = _per_channel(form, "limit", "the limit")
    if limits:
        capacity["channel_limits"] = limits
    return {
        "name": form.get("name", "").strip()[:200],
        "role": form.get("role", current["role"]),
        "languages": [code for code in languages if code][:30],
        "skills": _skills(form),
        "channel_competences": _per_channel(form, "competence", "the level"),
        "capacity": capacity,
    }


def skill_rows(skills: dict[str, int] | None) -> list[tuple[str, int | None]]:
    rows: list[tuple[str, int | None]] = list((skills or {}).items())
    return [*rows, *[("", None)] * BLANK_SKILL_ROWS][:MAX_SKILL_ROWS]


def entered_skill_rows(form: dict[str, str]) -> list[tuple[str, int | None]]:
    """The skill rows as the admin typed them, to show again beside the problem."""
    rows: list[tuple[str, int | None]] = []
    for row in range(MAX_SKILL_ROWS):
        if f"skill-{row}" not in form:
            break
        level = form.get(f"skill-level-{row}", "")
        rows.append((form[f"skill-{row}"][:100], int(level) if level.isdigit() else None))
    return rows or skill_rows(None)
