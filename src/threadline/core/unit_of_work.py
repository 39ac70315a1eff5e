"""One transaction per use-case; events are written with the change and published after commit.

Services use the SQLAlchemy session directly as their repository (see docs/architecture.md):
the typed models already give one place per table, and a second layer of repositories would
only repeat them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from threadline.adapters.db import event_log
from threadline.adapters.db.engine import on_postgresql
from threadline.adapters.db.tables import Event
from threadline.domain.errors import Conflict
from threadline.domain.events import DomainEvent, WireEvent

NewRow = TypeVar("NewRow")


def worth_retrying(exc: OperationalError) -> bool:
    """PostgreSQL chose this transaction as a deadlock or serialisation victim (or SQLite's
    database was locked): the same work run again will normally succeed."""
    text = str(exc.orig).lower()
    return "deadlock" in text or "serializ" in text or "locked" in text


class ClockLike(Protocol):
    def now(self) -> Any: ...


# What reacts to an event inside its transaction (core/handlers.py), and what a due timer
# runs (core/timers.py). Declared here, beside the factory that carries them, so that those
# modules import this one and never the other way round. A handler takes one event class
# (its third parameter); `core.handlers.on` checks the pairing where it is registered.
Handler = Callable[["UnitOfWork", int, Any], Awaitable[None]]
HandlersByEvent = Mapping[type[DomainEvent], Sequence[Handler]]
TimerHandler = Callable[["UnitOfWork", int, dict[str, Any], datetime], Awaitable[None]]

Publish = Callable[[int, list[dict[str, Any]]], Awaitable[None]]


@dataclass
class UnitOfWorkFactory:
    """What every use-case needs from the outside world, bundled once at start-up."""

    sessionmaker: async_sessionmaker[AsyncSession]
    clock: ClockLike
    publish: Publish
    # What reacts to events (by event class) and fires timers: bootstrap.event_handlers /
    # timer_handlers.
    handlers: HandlersByEvent
    timer_handlers: dict[str, TimerHandler]
    on_outbound_queued: Callable[[], None] = lambda: None
    # Per-runtime state of services that coordinate work across units of work (the routing
    # fill keeps its per-workspace pass bookkeeping here).
    shared: dict[str, Any] = field(default_factory=dict)

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self)


class UnitOfWork:
    def __init__(self, factory: UnitOfWorkFactory) -> None:
        self.factory = factory
        self.clock = factory.clock
        self._events: list[tuple[int, DomainEvent]] = []
        self._session: AsyncSession | None = None
        self.outbound_queued = False
        self._after_commit: dict[Hashable, Callable[[], Awaitable[None]]] = {}

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._session = self.factory.sessionmaker()
        self._events = []
        self._after_commit = {}
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            if session.in_transaction():
                await session.rollback()
        finally:
            await session.close()
            self._session = None

    async def flush_or_conflict(self, reason: str) -> None:
        """Flush, turning a unique-constraint violation (a name or address someone else has
        just taken) into a 409 with `reason`."""
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise Conflict(reason) from exc

    async def add_or_conflict(self, row: NewRow, reason: str) -> NewRow:
        """Add a new row and flush it: a unique value someone else holds is a 409 with
        `reason`."""
        self.session.add(row)
        await self.flush_or_conflict(reason)
        return row

    def emit(self, workspace_id: int, event: DomainEvent) -> None:
        """Record `event`: its handlers run before commit, and it is written to the outbox
        and published with the commit."""
        self._events.append((workspace_id, event))

    def after_commit(self, key: Hashable, action: Callable[[], Awaitable[None]]) -> None:
        """Run `action` once this transaction has committed (once per key), before `commit`
        returns; dropped on rollback. For follow-up work that must see the change committed
        and may batch with other transactions' (the routing fill)."""
        self._after_commit.setdefault(key, action)

    async def rollback(self) -> None:
        self._events = []
        self._after_commit = {}
        await self.session.rollback()

    async def commit(self) -> None:
        session = self.session
        await self._run_handlers()
        written = await self._write_events_and_commit(session)
        self._events = []
        for workspace_id, rows in written.items():
            await self.factory.publish(workspace_id, rows)
        if self.outbound_queued:
            self.outbound_queued = False
            self.factory.on_outbound_queued()
        actions, self._after_commit = list(self._after_commit.values()), {}
        for action in actions:
            await action()

    async def _run_handlers(self) -> None:
        handled = 0
        # Handlers may emit more events; the list grows while we walk it.
        while handled < len(self._events):
            workspace_id, event = self._events[handled]
            handled += 1
            for handler in self.factory.handlers.get(type(event), ()):
                await handler(self, workspace_id, event)

    async def _write_events_and_commit(
        self, session: AsyncSession
    ) -> dict[int, list[dict[str, Any]]]:
        """Write the events and commit; returns the envelopes to publish, per workspace."""
        # The wire form (type, audience, conversation, payload dict) is built here, once, for
        # the outbox row and the published envelope alike.
        by_workspace: dict[int, list[WireEvent]] = {}
        for workspace_id, event in self._events:
            by_workspace.setdefault(workspace_id, []).append(event.wire())
        now = self.clock.now()
        if by_workspace and on_postgresql(session):
            first_seq = await event_log.append_and_commit(session, by_workspace, now)
        else:
            # Sorted so two transactions touching several workspaces lock them in one order.
            first_seq = {
                workspace_id: await event_log.append(session, workspace_id, events, now)
                for workspace_id, events in sorted(by_workspace.items())
            }
        await session.commit()
        written: dict[int, list[dict[str, Any]]] = {}
        for workspace_id, events in by_workspace.items():
            # The rows are the envelopes already (event_envelope's shape).
            written[workspace_id] = event_log.numbered_rows(
                workspace_id, first_seq[workspace_id], events, now.isoformat()
            )
        return written


def event_envelope(workspace_id: int, row: Event) -> dict[str, Any]:
    """The JSON shape of an event on the wire (pub/sub and WebSocket)."""
    return {
        "seq": row.seq,
        "workspace_id": workspace_id,
        "type": row.type,
        "audience": row.audience,
        "conversation_id": row.conversation_id,
        "payload": row.payload,
        "created_at": row.created_at.isoformat(),
    }
