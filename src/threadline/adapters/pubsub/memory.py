"""In-process pub/sub for the embedded, single-process mode."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog

log = structlog.get_logger(__name__)

QUEUE_LIMIT = 10_000


class _MemorySubscription:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_LIMIT)

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield await self.queue.get()


class MemoryPubSub:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[_MemorySubscription]] = defaultdict(set)

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        for subscription in list(self._subscribers.get(topic, ())):
            try:
                subscription.queue.put_nowait(message)
            except asyncio.QueueFull:
                # A stuck consumer must not block everyone; it will back-fill from the
                # event table when it notices the gap in sequence numbers.
                log.warning("pubsub.subscriber_overflow", topic=topic)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[_MemorySubscription]:
        subscription = _MemorySubscription()
        self._subscribers[topic].add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers[topic].discard(subscription)
            if not self._subscribers[topic]:
                del self._subscribers[topic]

    async def close(self) -> None:
        self._subscribers.clear()
