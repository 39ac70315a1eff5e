"""An in-process sliding-window rate limit (used by the public contact form).

It counts per process: with several API processes each allows the limit, so the real
ceiling is the limit times the number of processes. That is enough to blunt a script
hammering one form; a shared limit would need Redis or the database.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable

# Past this many tracked clients, idle ones are swept so memory stays bounded.
SWEEP_THRESHOLD = 10_000


class SlidingWindowLimiter:
    def __init__(self) -> None:
        self._hits: dict[Hashable, deque[float]] = {}

    def try_acquire(self, key: Hashable, limit: int, window: float, now: float) -> float | None:
        """Counts one hit and returns None, or returns the seconds until one is allowed."""
        if len(self._hits) > SWEEP_THRESHOLD:
            self._sweep(window, now)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return max(hits[0] + window - now, 0.0)
        hits.append(now)
        return None

    def _sweep(self, window: float, now: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - window]:
            del self._hits[key]
