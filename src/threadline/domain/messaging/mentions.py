"""@mentions in notes: `@kasia` (the part of an agent's e-mail before the @) or the whole
address, `@kasia@demo.example.com`, when two agents share that first part."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Not preceded by a word character, so e-mail addresses in the text are not mentions.
_MENTION = re.compile(
    r"(?<![\w.@+-])@([A-Za-z0-9][A-Za-z0-9._%+-]*(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?)"
)

EXCERPT_LENGTH = 280


@dataclass(frozen=True, slots=True)
class MentionableAgent:
    id: int
    email: str


def mention_handles(text: str) -> list[str]:
    """The handles mentioned, lower-cased, in order of first appearance."""
    found: list[str] = []
    for match in _MENTION.finditer(text):
        handle = match.group(1).rstrip(".").lower()
        if handle and handle not in found:
            found.append(handle)
    return found


def resolve_mentions(handles: Iterable[str], agents: Iterable[MentionableAgent]) -> list[int]:
    """Ids of the agents the handles name unambiguously; a handle naming several, none."""
    by_email: dict[str, int] = {}
    by_local: dict[str, list[int]] = {}
    for agent in agents:
        email = agent.email.lower()
        by_email[email] = agent.id
        by_local.setdefault(email.split("@", 1)[0], []).append(agent.id)
    resolved: list[int] = []
    for handle in handles:
        if "@" in handle:
            agent_id = by_email.get(handle)
        else:
            candidates = by_local.get(handle, [])
            agent_id = candidates[0] if len(candidates) == 1 else None
        if agent_id is not None and agent_id not in resolved:
            resolved.append(agent_id)
    return resolved


def excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_LENGTH else flat[: EXCERPT_LENGTH - 1] + "…"
