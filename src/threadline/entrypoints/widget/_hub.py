"""One pub/sub subscription per workspace per process, shared by every widget socket.

Thousands of visitors may be connected, each caring about one conversation; giving each its
own subscription would wake every socket for every event of the workspace. The hub reads the
workspace's topic once, keeps the position up to which it has seen the sequence without a
gap, and hands each event only to the sockets following its conversation (listeners are
indexed by conversation, and by customer for the customer's new conversations).

When the hub sees a jump in sequence numbers (a publish lost after its commit), or finds on
a quiet check that the table is ahead of it, it reads the missing events from the table
once, for every socket, and hands them on in order like live ones. Everything below a
published seq is committed (seq order is commit order), so that read is complete.
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
from threadline.core.event_feed import events_since, latest_seq
from threadline.core.typing_signals import TYPING
from threadline.domain.events import EventType

log = structlog.get_logger(__name__)

IDLE_RECHECK_SECONDS = 10.0
LISTENER_BUFFER = 500
# Missing events read per query when a gap is repaired.
GAP_BATCH = 500


@dataclass(eq=False)
class Listener:
    """One visitor socket's mailbox: ("event", envelope), ("typing", envelope) or
    ("overflow", None) items. `conversations` changes only through `WorkspaceHub.follow`."""

    customer_id: int
    conversations: set[int] = field(default_factory=set)
    queue: asyncio.Queue[tuple[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=LISTENER_BUFFER)
    )
    # Set when the socket fell so far behind that its mailbox filled: it must reconnect.
    overflowed: bool = False

    def offer(self, item: tuple[str, Any]) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(("overflow", None))


def created_conversation(envelope: dict[str, Any]) -> tuple[int, int] | None:
    """(customer id, conversation id) of a conversation.created event, else None."""
    if envelope.get("type") != EventType.CONVERSATION_CREATED.value:
        return None
    payload = envelope.get("payload") or {}
    conversation = payload.get("conversation") or {}
    customer_id = conversation.get("customer_id")
    if not isinstance(customer_id, int):
        return None
    return customer_id, int(conversation["id"])


class WorkspaceHub:
    def __init__(self, runtime: Runtime, workspace_id: int) -> None:
        self.runtime = runtime
        self.workspace_id = workspace_id
        self.listeners: set[Listener] = set()
        self._by_conversation: dict[int, set[Listener]] = {}
        self._by_customer: dict[int, set[Listener]] = {}
        self.position = 0
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    def add(self, listener: Listener) -> None:
        self.listeners.add(listener)
        self._by_customer.setdefault(listener.customer_id, set()).add(listener)
        for conversation_id in listener.conversations:
            self._by_conversation.setdefault(conversation_id, set()).add(listener)

    def remove(self, listener: Listener) -> None:
        self.listeners.discard(listener)
        _unindex(self._by_customer, listener.customer_id, listener)
        for conversation_id in listener.conversations:
            _unindex(self._by_conversation, conversation_id, listener)

    def follow(self, listener: Listener, conversation_id: int) -> None:
        """From now on, hand this conversation's events to the listener too."""
        listener.conversations.add(conversation_id)
        if listener in self.listeners:
            self._by_conversation.setdefault(conversation_id, set()).add(listener)

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
                            await self._receive(envelope)
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
            await self._read_missing(latest)

    async def _read_missing(self, upto: int) -> None:
        """The events after our position, up to `upto` at least, from the table, read once
        for every socket. Those beyond `upto` that a batch brings are delivered too (they are
        committed, in order); their live copies are then dropped as already seen."""
        while self.position < upto:
            async with self.runtime.sessionmaker() as session:
                batch = await events_since(session, self.workspace_id, self.position, GAP_BATCH)
            for envelope in batch:
                self._deliver(envelope)
            if len(batch) < GAP_BATCH:
                self.position = max(self.position, upto)

    async def _receive(self, envelope: dict[str, Any]) -> None:
        if envelope.get("type") == TYPING:
            for listener in self._followers(envelope):
                listener.offer(("typing", envelope))
            return
        seq = envelope.get("seq")
        if not isinstance(seq, int) or seq <= self.position:
            return
        if seq > self.position + 1:
            await self._read_missing(seq - 1)
            if seq <= self.position:
                return  # the table had it already
        self._deliver(envelope)

    def _deliver(self, envelope: dict[str, Any]) -> None:
        self.position = envelope["seq"]
        created = created_conversation(envelope)
        if created is not None:
            customer_id, conversation_id = created
            for listener in list(self._by_customer.get(customer_id, ())):
                self.follow(listener, conversation_id)
        for listener in self._followers(envelope):
            listener.offer(("event", envelope))

    def _followers(self, envelope: dict[str, Any]) -> list[Listener]:
        conversation_id = envelope.get("conversation_id")
        if not isinstance(conversation_id, int):
            return []
        return list(self._by_conversation.get(conversation_id, ()))


def _unindex(index: dict[int, set[Listener]], key: int, listener: Listener) -> None:
    found = index.get(key)
    if found is not None:
        found.discard(listener)
        if not found:
            del index[key]


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
        hub.add(listener)
        try:
            await asyncio.wait_for(asyncio.shield(hub.ready.wait()), timeout=30)
            yield hub
        finally:
            hub.remove(listener)
            if not hub.listeners and self._hubs.get(workspace_id) is hub:
                del self._hubs[workspace_id]
                if hub.task is not None:
                    hub.task.cancel()
