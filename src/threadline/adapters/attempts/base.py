"""What counting attempts takes and answers, whichever store keeps the counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Limit:
    key: str
    limit: int


@dataclass(frozen=True, slots=True)
class Admitted:
    """One attempt was counted on every key; `release` takes it back."""

    keys: tuple[str, ...]
    member: str


@dataclass(frozen=True, slots=True)
class Refused:
    """A key was at its limit: nothing was counted. `keys` are those at their limit."""

    wait_seconds: float
    keys: tuple[str, ...]


class AttemptCounter(Protocol):
    async def acquire(self, limits: list[Limit], window: float, now: float) -> Admitted | Refused:
        """In one step: refuse when any key holds `limit` attempts of the last `window`
        seconds, else count one on every key. Concurrent callers never both get the last
        place."""
        ...

    async def release(self, admitted: Admitted) -> None: ...

    async def remember(self, key: str, seconds: float, now: float) -> None:
        """Keep a mark under `key` for `seconds`."""
        ...

    async def remembers(self, key: str, now: float) -> bool: ...

    async def close(self) -> None: ...
