"""Attempts counted in this process: each process allows the limits on its own."""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Hashable

from threadline.adapters.attempts.base import Admitted, Limit, Refused

# Past this many tracked keys, idle ones are swept so memory stays bounded.
SWEEP_THRESHOLD = 10_000


class SlidingWindowLimiter:
    """Hits per key within a sliding window (also the contact form's and the widget's)."""

    def __init__(self) -> None:
        self._hits: dict[Hashable, deque[float]] = {}

    def try_acquire(self, key: Hashable, limit: int, window: float, now: float) -> float | None:
        """Counts one hit and returns None, or returns the seconds until one is allowed."""
        wait = self.wait(key, limit, window, now)
        if wait is None:
            self.record(key, window, now)
        return wait

    def wait(self, key: Hashable, limit: int, window: float, now: float) -> float | None:
        """Without counting: None when another hit is allowed, else the seconds until it is."""
        hits = self._hits.get(key)
        if not hits:
            return None
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return max(hits[0] + window - now, 0.0)
        return None

    def record(self, key: Hashable, window: float, now: float) -> None:
        """Counts one hit (for limits on what went wrong, counted after the fact)."""
        if len(self._hits) > SWEEP_THRESHOLD:
            self._sweep(window, now)
        self._hits.setdefault(key, deque()).append(now)

    def forget(self, key: Hashable, at: float) -> None:
        """Takes back the hit counted at `at` (counted ahead, before the outcome was known)."""
        hits = self._hits.get(key)
        if hits and at in hits:
            hits.remove(at)

    def _sweep(self, window: float, now: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - window]:
            del self._hits[key]


class MemoryAttemptCounter:
    """The AttemptCounter of one process; nothing in it awaits, so each call is atomic
    for the coroutines of its event loop."""

    def __init__(self) -> None:
        self._windows = SlidingWindowLimiter()
        self._marks: dict[str, float] = {}
        self._admitted = itertools.count()

    async def acquire(self, limits: list[Limit], window: float, now: float) -> Admitted | Refused:
        waits = {
            limit.key: wait
            for limit in limits
            if (wait := self._windows.wait(limit.key, limit.limit, window, now)) is not None
        }
        if waits:
            return Refused(max(waits.values()), tuple(waits))
        for limit in limits:
            self._windows.record(limit.key, window, now)
        # The time is the hit to take back; the counter only makes the member unique.
        return Admitted(tuple(limit.key for limit in limits), f"{now!r}:{next(self._admitted)}")

    async def release(self, admitted: Admitted) -> None:
        at = float(admitted.member.partition(":")[0])
        for key in admitted.keys:
            self._windows.forget(key, at)

    async def remember(self, key: str, seconds: float, now: float) -> None:
        if len(self._marks) > SWEEP_THRESHOLD:
            for stale in [k for k, until in self._marks.items() if until <= now]:
                del self._marks[stale]
        self._marks[key] = now + seconds

    async def remembers(self, key: str, now: float) -> bool:
        return self._marks.get(key, 0.0) > now

    async def close(self) -> None:
        return None
