"""Pages of a read: their size, their items and the cursor to the next one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from threadline.domain.bounds import row_id_from_text
from threadline.domain.errors import DomainError

MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def page_size(limit: int | None, default: int = 50) -> int:
    if limit is None:
        return default
    if not 1 <= limit <= MAX_PAGE:
        raise DomainError(f"limit must be between 1 and {MAX_PAGE}")
    return limit


def int_cursor(cursor: str) -> int:
    value = row_id_from_text(cursor)
    if value is None:
        raise DomainError(f"invalid cursor {cursor!r}")
    return value
