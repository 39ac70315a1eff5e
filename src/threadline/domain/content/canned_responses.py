"""Canned responses and suggested replies: shortcuts and the {{variable}} templates they hold.

The template language is deliberately tiny and written here, not borrowed from a general
engine: a placeholder is `{{ name.part }}`, optionally with a fallback after a bar,
`{{ customer.first_name | there }}`. Nothing else inside braces is accepted when a template is
saved, and rendering only ever looks names up in a fixed table of strings, so a template can
never run code, reach attributes of Python objects or read anything beyond those variables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from threadline.domain.errors import DomainError

# The variables a template may use, with what they stand for (shown in the docs and the API).
VARIABLES: dict[str, str] = {
    "customer.name": "the customer's full name",
    "customer.first_name": "the first word of the customer's name",
    "customer.email": "the customer's e-mail address, if known",
    "customer.phone": "the customer's phone number (E.164), if known",
    "agent.name": "the name of the agent who inserts the reply",
    "agent.first_name": "the first word of that agent's name",
    "conversation.id": "the conversation's number",
    "conversation.subject": "the conversation's subject, if any",
    "workspace.name": "the company's name",
}

MAX_SHORTCUT_LENGTH = 50
MAX_BODY_LENGTH = 10_000
MAX_FALLBACK_LENGTH = 100

_SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# One placeholder: a dotted lower-case name and an optional fallback of plain text.
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+(?:\.[a-z_]+)*)\s*(?:\|([^{}|]*))?\}\}")
# Anything that looks like template syntax but is not a valid placeholder.
_SYNTAX = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")


class InvalidTemplate(DomainError):
    title = "Invalid template"


def normalise_shortcut(raw: str) -> str:
    """`/Refund ` -> `refund`: lower-case letters, digits, `-` and `_`, a leading `/` dropped."""
    shortcut = raw.strip().lstrip("/").lower()
    if not shortcut or len(shortcut) > MAX_SHORTCUT_LENGTH or not _SHORTCUT.match(shortcut):
        raise DomainError(
            f"shortcut {raw!r} must be 1-{MAX_SHORTCUT_LENGTH} lower-case letters, digits, "
            "'-' or '_', starting with a letter or digit (e.g. refund, delivery-late)"
        )
    return shortcut


def check_template(body: str) -> list[str]:
    """The variables a template uses; InvalidTemplate names anything that is not allowed."""
    if len(body) > MAX_BODY_LENGTH:
        raise InvalidTemplate(f"a template is limited to {MAX_BODY_LENGTH} characters")
    used: list[str] = []
    unknown: list[str] = []
    for match in _PLACEHOLDER.finditer(body):
        name, fallback = match.group(1), match.group(2)
        if name not in VARIABLES:
            unknown.append(name)
        elif name not in used:
            used.append(name)
        if fallback is not None and len(fallback.strip()) > MAX_FALLBACK_LENGTH:
            raise InvalidTemplate(
                f"the fallback of {{{{{name}}}}} is limited to {MAX_FALLBACK_LENGTH} characters"
            )
    if unknown:
        raise InvalidTemplate(
            f"unknown variable(s) {', '.join(sorted(set(unknown)))}; "
            f"known variables: {', '.join(VARIABLES)}"
        )
    leftover = _SYNTAX.search(_PLACEHOLDER.sub("", body))
    if leftover is not None:
        snippet = body[max(0, leftover.start() - 10) : leftover.end() + 20]
        raise InvalidTemplate(
            f"only placeholders such as {{{{customer.first_name}}}} or "
            f"{{{{customer.first_name | there}}}} are allowed in braces, near {snippet!r}"
        )
    return used


def render(body: str, values: Mapping[str, str | None]) -> str:
    """Substitute the placeholders; an empty value takes the fallback, else renders empty.

    Anything that is not a known placeholder is left exactly as written (it cannot have been
    saved through check_template, but a template is never a way to evaluate anything).
    """

    def substitute(match: re.Match[str]) -> str:
        name, fallback = match.group(1), match.group(2)
        if name not in VARIABLES:
            return match.group(0)
        value = values.get(name)
        if value:
            return value
        return fallback.strip() if fallback is not None else ""

    return _PLACEHOLDER.sub(substitute, body)


def first_name(full_name: str | None) -> str | None:
    if not full_name or not full_name.strip():
        return None
    return full_name.split()[0]


@dataclass(frozen=True, slots=True)
class TemplateContext:
    customer_name: str | None
    customer_email: str | None
    customer_phone: str | None
    agent_name: str | None
    conversation_id: int | None
    conversation_subject: str | None
    workspace_name: str | None

    def values(self) -> dict[str, str | None]:
        return {
            "customer.name": self.customer_name,
            "customer.first_name": first_name(self.customer_name),
            "customer.email": self.customer_email,
            "customer.phone": self.customer_phone,
            "agent.name": self.agent_name,
            "agent.first_name": first_name(self.agent_name),
            "conversation.id": str(self.conversation_id) if self.conversation_id else None,
            "conversation.subject": self.conversation_subject,
            "workspace.name": self.workspace_name,
        }


def rank_by_query(query: str, shortcut: str, title: str) -> int | None:
    """Search order: exact shortcut 0, shortcut prefix 1 (every shortcut for a bare `/`),
    word of the title prefix 2, title containing it 3, else None."""
    q = query.strip().lstrip("/").lower()
    if not q:
        return 1
    if shortcut == q:
        return 0
    if shortcut.startswith(q):
        return 1
    if any(word.startswith(q) for word in re.split(r"[\s\-_/]+", title.lower())):
        return 2
    if q in title.lower():
        return 3
    return None
