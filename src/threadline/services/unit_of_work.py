"""One transaction per use-case; events are written with the change and published after commit.

Services use the SQLAlchemy session directly as their repository (see docs/architecture.md):
the typed models already give one place per table, and a second layer of repositories would
only repeat them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy import BigInteger, Integer, String, Text, bindparam, insert, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from threadline.adapters.db.tables import Event, Workspace
from threadline.adapters.db.types import UTCDateTime
from threadline.domain.errors import Conflict
from threadline.domain.events import DomainEvent, EventType
from threadline.services.event_handlers import Handler, collect_handlers


def worth_retrying(exc: OperationalError) -> bool:
    """PostgreSQL chose this transaction as a deadlock or serialisation victim (or SQLite's
    database was locked): the same work run again will normally succeed."""
    text = str(exc.orig).lower()
    return "deadlock" in text or "serializ" in text or "locked" in text


class ClockLike(Protocol):
    def now(self) -> Any: ...


Publish = Callable[[int, list[dict[str, Any]]], Awaitable[None]]


@dataclass
class UnitOfWorkFactory:
    """What every use-case needs from the outside world, bundled once at start-up."""

    sessionmaker: async_sessionmaker[AsyncSession]
    clock: ClockLike
    publish: Publish
    on_outbound_queued: Callable[[], None] = lambda: None
    handlers: dict[EventType, list[Handler]] = field(default_factory=collect_handlers)
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

    def emit(self, workspace_id: int, event: DomainEvent) -> None:
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
        written = await self._write_events(session)
        await session.commit()
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
            for handler in self.factory.handlers.get(event.type, ()):
                await handler(self, workspace_id, event)

    async def _write_events(self, session: AsyncSession) -> dict[int, list[dict[str, Any]]]:
        by_workspace: dict[int, list[DomainEvent]] = {}
        for workspace_id, event in self._events:
            by_workspace.setdefault(workspace_id, []).append(event)
        written: dict[int, list[dict[str, Any]]] = {}
        now = self.clock.now()
        append = (
            _append_in_one_statement
            if session.get_bind().dialect.name == "postgresql"
            else _append_in_two_statements
        )
        # Sorted so two transactions touching several workspaces lock them in one order.
        for workspace_id in sorted(by_workspace):
            events = by_workspace[workspace_id]
            # The workspace row lock taken here is held until commit, so sequence order is
            # commit order.
            first = await append(session, workspace_id, events, now)
            rows = [
                {
                    "workspace_id": workspace_id,
                    "seq": first + offset,
                    "type": event.type.value,
                    "audience": event.audience.value,
                    "conversation_id": event.conversation_id,
                    "payload": event.payload,
                    "created_at": now.isoformat(),
                }
                for offset, event in enumerate(events)
            ]
            for event, row in zip(events, rows, strict=True):
                event.seq = row["seq"]
            # The rows are the envelopes already (event_envelope's shape).
            written[workspace_id] = rows
        return written


async def _append_in_two_statements(
    session: AsyncSession, workspace_id: int, events: list[DomainEvent], now: datetime
) -> int:
    """Number the events (taking the workspace's row lock) and insert them; returns the
    first sequence number."""
    last = (
        await session.execute(
            update(Workspace)
            .where(Workspace.id == workspace_id)
            .values(event_seq=Workspace.event_seq + len(events))
            .returning(Workspace.event_seq)
        )
    ).scalar_one()
    first = int(last) - len(events) + 1
    await session.execute(
        insert(Event),
        [
            {
                "workspace_id": workspace_id,
                "seq": first + offset,
                "type": event.type.value,
                "audience": event.audience.value,
                "conversation_id": event.conversation_id,
                "payload": event.payload,
                "created_at": now,
            }
            for offset, event in enumerate(events)
        ],
    )
    return first


# PostgreSQL numbers and inserts in one statement: the workspace's row lock is then held for
# one round trip less before COMMIT, and every transaction that emits events queues on it.
_NUMBER_AND_INSERT = text(
    """
    WITH numbered AS (
        UPDATE workspaces SET event_seq = event_seq + :count WHERE id = :workspace_id
        RETURNING event_seq
    )
    INSERT INTO events (workspace_id, seq, type, audience, conversation_id, payload, created_at)
    SELECT :workspace_id, numbered.event_seq - :count + item.n, item.type, item.audience,
           item.conversation_id, CAST(item.payload AS JSONB), :created_at
    FROM numbered,
         unnest(:types, :audiences, :conversation_ids, :payloads)
             WITH ORDINALITY AS item(type, audience, conversation_id, payload, n)
    RETURNING seq
    """
).bindparams(
    bindparam("count", type_=Integer()),
    bindparam("workspace_id", type_=BigInteger()),
    bindparam("created_at", type_=UTCDateTime()),
    bindparam("types", type_=ARRAY(String())),
    bindparam("audiences", type_=ARRAY(String())),
    bindparam("conversation_ids", type_=ARRAY(BigInteger())),
    bindparam("payloads", type_=ARRAY(Text())),
)


async def _append_in_one_statement(
    session: AsyncSession, workspace_id: int, events: list[DomainEvent], now: datetime
) -> int:
    seqs = (
        await session.execute(
            _NUMBER_AND_INSERT,
            {
                "count": len(events),
                "workspace_id": workspace_id,
                "created_at": now,
                "types": [event.type.value for event in events],
                "audiences": [event.audience.value for event in events],
                "conversation_ids": [event.conversation_id for event in events],
                "payloads": [json.dumps(event.payload) for event in events],
            },
        )
    ).scalars()
    return int(min(seqs))


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
