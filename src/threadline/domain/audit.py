"""The audit log's pure rules: who an actor is, what an entry may hold, how it is searched.

An entry's before/after never holds a secret: a column whose name says it is one (a password
hash, a key hash, a signing secret, a token) is written as REDACTED, and so is any secret
setting inside a JSON column (domain/security/secret_settings.py). Customer content (names,
message text, notes) is WITHHELD: the log outlives a customer's erasure, so it keeps only that
such a field changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any

from threadline.domain.security.secret_settings import is_secret_setting

REDACTED = "[redacted]"
WITHHELD = "[withheld]"
_SECRET_COLUMN_WORDS = ("secret", "password", "token", "key_hash")


class ActorKind(StrEnum):
    AGENT = "agent"
    API_KEY = "api_key"
    SYSTEM = "system"
    # Someone not signed in: the person behind a failed sign-in.
    VISITOR = "visitor"


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: int | None
    # Empty until known: the writer looks an agent's or a key's name up once per transaction.
    name: str = ""


def is_secret_column(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_COLUMN_WORDS)


def json_safe(value: Any) -> Any:
    """`value` as JSON can hold it: datetimes as ISO text, enums by value, secrets redacted."""
    if isinstance(value, Mapping):
        return {
            str(key): REDACTED if is_secret_setting(str(key)) else json_safe(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return json_safe(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def shown_fields(
    values: Mapping[str, Any], withheld: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """What an entry may show of these column values."""
    shown: dict[str, Any] = {}
    for name, value in values.items():
        if is_secret_column(name):
            shown[name] = REDACTED
        elif name in withheld:
            shown[name] = WITHHELD if value not in (None, "", [], {}) else value
        else:
            shown[name] = json_safe(value)
    return shown


def search_text(action: str, object_type: str, object_id: str | None, actor_name: str) -> str:
    """The words an entry is found by (lower-cased once, when it is written)."""
    return " ".join(
        part for part in (action, object_type, object_id or "", actor_name) if part
    ).lower()
