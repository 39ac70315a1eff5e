"""Redis pub/sub, so events reach WebSocket clients connected to any API process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis

SUBSCRIBE_TIMEOUT_SECONDS = 5.0


class _RedisSubscription:
    def __init__(self, pubsub: Any) -> None:
        self._pubsub = pubsub

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        async for raw in self._pubsub.listen():
            if raw.get("type") != "message":
                continue
            yield json.loads(raw["data"])


class RedisPubSub:
    def __init__(self, url: str) -> None:
        self._client = aioredis.from_url(url, decode_responses=True)

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        await self._client.publish(topic, json.dumps(message, separators=(",", ":")))

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[_RedisSubscription]:
        pubsub = self._client.pubsub()
        try:
            await pubsub.subscribe(topic)
            # SUBSCRIBE is only sent, not awaited; callers back-fill from the database right
            # after subscribing, so they must know that nothing published from now on is missed.
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                while (await pubsub.get_message(timeout=None) or {}).get("type") != "subscribe":
                    pass
            yield _RedisSubscription(pubsub)
        finally:
            # Closing drops the connection, which ends the subscription on the server too.
            await pubsub.aclose()

    async def close(self) -> None:
        await self._client.aclose()
