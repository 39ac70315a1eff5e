"""Redis pub/sub, so events reach WebSocket clients connected to any API process."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis


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
        await pubsub.subscribe(topic)
        try:
            yield _RedisSubscription(pubsub)
        finally:
            await pubsub.unsubscribe(topic)
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        await self._client.aclose()
