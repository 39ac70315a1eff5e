"""One pub/sub subscription per workspace per process, shared by every widget socket.

Thousands of visitors may be connected, each caring about one conversation; giving each its
own subscription would wake every socket for every event of the workspace. The hub reads the
workspace's topic once, keeps the position up to which it has seen the sequence without a
gap, and hands each event only to the sockets whose conversations it concerns.

When the hub sees a jump in sequence numbers (a publish lost after its commit), or finds on
a quiet check that the table is ahead of it, it tells every socket "gap up to N": each then
back-fills its own customer's events from the table. Everything below a published seq is
committed (seq order is commit order), so that back-fill is complete.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import structlog

from threadline.adapters.pubsub.base import Subscription, workspace_topic
from threadline.bootstrap import Runtime
from threadline.domain.events import EventType
from threadline.services.event_feed import latest_seq
from threadline.services.typing_signals import TYPING

log = structlog.get_logger(__name__)

IDLE_RECHECK_SECONDS = 10.0
LISTENER_BUFFER = 500


@dataclass(eq=False)
class Listener:
    """One visitor socket's mailbox: ("event", envelope) or ("gap", upto) items."""

    customer_id: int
    conversations: set[int]
    queue: asyncio.Queue[tuple[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=LISTENER_BUFFER)
    )
    # Set when the socket fell so far behind that its mailbox filled: it must reconnect.
    overflowed: bool = False

    def wants(self, envelope: dict[str, Any]) -> bool:
        if envelope.get("type") == EventType.CONVERSATION_CREATED.value:
            payload = envelope.get("payload") or {}
            conversation = payload.get("conversation") or {}
            if conversation.get("customer_id") == self.customer_id:
                self.conversations.add(int(conversation["id"]))
        return envelope.get("conversation_id") in self.conversations

    def offer(self, item: tuple[str, Any]) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(("overflow", None))


class WorkspaceHub:
    def __init__(self, runtime: Runtime, workspace_id: int) -> None:
        self.runtime = runtime
        self.workspace_id = workspace_id
        self.listeners: set[Listener] = set()
        self.position = 0
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        topic = workspace_topic(self.workspace_id)
        try:
            async with self.runtime.pubsub.subscribe(topic) as subscription:
                # Read after subscribing: whatever is published from now on reaches us, and
                # whatever is older is at or below this position.
                async with self.runtime.sessionmaker() as session:
                    self.position = await latest_seq(session, self.workspace_id)
                self.ready.set()
                inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
                # Waiting on the subscription itself with a timeout would close it when the
                # timeout cancels the wait; a pump keeps it open.
                pump = asyncio.create_task(_pump(subscription, inbox))
                try:
                    while True:
                        try:
                            envelope = await asyncio.wait_for(inbox.get(), IDLE_RECHECK_SECONDS)
                        except TimeoutError:
                            if pump.done():
                                pump.result()
                                raise RuntimeError("the event subscription ended") from None
                            await self._recheck()
                        else:
                            self._dispatch(envelope)
                finally:
                    pump.cancel()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("widget.hub_failed", workspace_id=self.workspace_id)
            for listener in list(self.listeners):
                listener.offer(("overflow", None))
            raise

    async def _recheck(self) -> None:
        async with self.runtime.sessionmaker() as session:
            latest = await latest_seq(session, self.workspace_id)
        if latest > self.position:
            self._gap(latest)

    def _gap(self, upto: int) -> None:
        self.position = upto
        for listener in list(self.listeners):
            listener.offer(("gap", upto))

    def _dispatch(self, envelope: dict[str, Any]) -> None:
        if envelope.get("type") == TYPING:
            for listener in list(self.listeners):
                if envelope.get("conversation_id") in listener.conversations:
                    listener.offer(("typing", envelope))
            return
        seq = envelope.get("seq")
        if not isinstance(seq, int) or seq <= self.position:
            return
        if seq > self.position + 1:
            self._gap(seq - 1)
        self.position = seq
        for listener in list(self.listeners):
            if listener.wants(envelope):
                listener.offer(("event", envelope))


async def _pump(subscription: Subscription, inbox: asyncio.Queue[dict[str, Any]]) -> None:
    async for envelope in subscription:
        inbox.put_nowait(envelope)


class Hubs:
    """The hubs of one application, started on first use and stopped with their last socket."""

    def __init__(self) -> None:
        self._hubs: dict[int, WorkspaceHub] = {}

    @contextlib.asynccontextmanager
    async def listening(
        self, runtime: Runtime, workspace_id: int, listener: Listener
    ) -> AsyncIterator[WorkspaceHub]:
        hub = self._hubs.get(workspace_id)
        if hub is None or (hub.task is not None and hub.task.done()):
            hub = WorkspaceHub(runtime, workspace_id)
            self._hubs[workspace_id] = hub
            hub.start()
        hub.listeners.add(listener)
        try:
            await asyncio.wait_for(asyncio.shield(hub.ready.wait()), timeout=30)
            yield hub
        finally:
            hub.listeners.discard(listener)
            if not hub.listeners and self._hubs.get(workspace_id) is hub:
                del self._hubs[workspace_id]
                if hub.task is not None:
                    hub.task.cancel()
