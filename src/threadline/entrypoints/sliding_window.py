"""An in-process sliding-window rate limit (the public contact form, the widget, sign-in).

It counts per process: with several API processes each allows the limit, so the real
ceiling is the limit times the number of processes. That is enough to blunt a script
hammering one form; a shared limit would need Redis or the database.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable

from starlette.requests import Request

# Past this many tracked clients, idle ones are swept so memory stays bounded.
SWEEP_THRESHOLD = 10_000


class SlidingWindowLimiter:
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


def app_limiter(request: Request, name: str) -> SlidingWindowLimiter:
    """The limiter called `name` of this application instance (so of this process), kept on
    the app's state and made on first use."""
    state = request.app.state
    limiter = getattr(state, name, None)
    if limiter is None:
        limiter = SlidingWindowLimiter()
        setattr(state, name, limiter)
    assert isinstance(limiter, SlidingWindowLimiter)
    return limiter
