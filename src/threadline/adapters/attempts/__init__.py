"""Counting attempts in sliding windows (sign-in failures), atomically: in this process
(memory.py), or shared by every process through Redis (redis.py) when THREADLINE_REDIS_URL
is set. Keys are opaque strings; callers hash what they would rather not store."""

from __future__ import annotations

from threadline.adapters.attempts.base import Admitted, AttemptCounter, Limit, Refused

__all__ = ["Admitted", "AttemptCounter", "Limit", "Refused", "build_attempt_counter"]


def build_attempt_counter(redis_url: str) -> AttemptCounter:
    if redis_url:
        from threadline.adapters.attempts.redis import RedisAttemptCounter

        return RedisAttemptCounter(redis_url)
    from threadline.adapters.attempts.memory import MemoryAttemptCounter

    return MemoryAttemptCounter()
