"""In-process sliding-window rate limits of the public contact form and the widget.

They count per process: with several API processes each allows the limit, so the real
ceiling is the limit times the number of processes. That is enough to blunt a script
hammering one form. Sign-in, where a limit must hold across processes, counts through
runtime.attempts (adapters/attempts/: Redis when configured).
"""

from __future__ import annotations

from starlette.requests import Request

from threadline.adapters.attempts.memory import SlidingWindowLimiter

__all__ = ["SlidingWindowLimiter", "app_limiter"]


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
