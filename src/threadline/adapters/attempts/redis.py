"""Attempts counted in Redis, so every API process enforces one limit together.

Each key is a sorted set of attempts scored by time. One Lua script (atomic on the Redis
server) drops what left the window, refuses when a key is at its limit, and otherwise adds
the attempt to every key; concurrent sign-ins on any number of processes therefore never
both get the last place. Times come from the caller's clock, expiries from Redis's own.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import redis.asyncio as aioredis

from threadline.adapters.attempts.base import Admitted, Limit, Refused

KEY_PREFIX = "threadline:attempts:"

# KEYS: the windows. ARGV: now, window seconds, the new member, then each key's limit.
# Answers nil when counted, else {wait seconds as text, the keys at their limit...}.
_ACQUIRE = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local wait = -1
local full = {}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local until_free = tonumber(oldest[2]) + window - now
    if until_free > wait then wait = until_free end
    table.insert(full, key)
  end
end
if wait >= 0 then
  return {tostring(wait), unpack(full)}
end
local ttl = math.ceil(window * 1000)
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, ttl)
end
return nil
"""


class RedisAttemptCounter:
    def __init__(self, url: str) -> None:
        self._client = aioredis.from_url(url, decode_responses=True)
        self._acquire: Any = self._client.register_script(_ACQUIRE)

    async def acquire(self, limits: list[Limit], window: float, now: float) -> Admitted | Refused:
        keys = [KEY_PREFIX + limit.key for limit in limits]
        member = f"{now!r}:{uuid.uuid4().hex}"
        answer = await self._acquire(
            keys=keys, args=[repr(now), repr(window), member, *(limit.limit for limit in limits)]
        )
        if answer is None:
            return Admitted(tuple(keys), member)
        wait, *full = answer
        return Refused(max(float(wait), 0.0), tuple(k.removeprefix(KEY_PREFIX) for k in full))

    async def release(self, admitted: Admitted) -> None:
        async with self._client.pipeline(transaction=True) as pipe:
            for key in admitted.keys:
                pipe.zrem(key, admitted.member)
            await pipe.execute()

    async def remember(self, key: str, seconds: float, now: float) -> None:
        await self._client.set(KEY_PREFIX + key, "1", ex=max(1, math.ceil(seconds)))

    async def remembers(self, key: str, now: float) -> bool:
        return bool(await self._client.exists(KEY_PREFIX + key))

    async def close(self) -> None:
        await self._client.aclose()
