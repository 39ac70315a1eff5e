"""Filling agents' free room from the queue: many agents in one transaction.

An agent who comes online or frees capacity does not pull work inside the transaction of that
change. That transaction writes a fill request (`request_fill`, a row, so it survives a crash)
and, once it has committed, a fill pass runs before `commit` returns. A pass takes every
request of the workspace it can lock (up to MAX_AGENTS_PER_PASS), locks those agents, and
matches the head of the queue to them in queue order, each conversation to the best of those
agents with room (the decision index over just them), all in one transaction.

Passes coalesce like a group commit: in one process, at most one pass per workspace runs at a
time, and a caller whose request was written while a pass ran waits for the next pass, which
serves every request written meanwhile. So one agent coming online costs one small pass, and
two hundred coming online at once cost a few large ones, with a handful of statements per
pass instead of per assignment.

Locks: requests are taken with SKIP LOCKED (two passes never serve the same agent; another
process's pass serves what this one skips). Then the agents' rows and their load rows, in
agent id order — the order a presence change and `claim` take them, one agent at a time — and
then the conversations, in queue order with SKIP LOCKED, which never waits. Under the locks
each agent's open work is counted again from the assignments and offers; the partial unique
index on active assignments stays the last backstop. A pass that fails leaves its requests in
place and is retried; the timer worker serves requests left over by a crash when it starts.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import BigInteger, bindparam, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.adapters.db.engine import on_postgresql
from threadline.adapters.db.inserts import insert_ignoring_conflict
from threadline.adapters.db.types import UTCDateTime
from threadline.core.unit_of_work import UnitOfWork, UnitOfWorkFactory, worth_retrying
from threadline.routing.filling.fill_pass import MAX_AGENTS_PER_PASS, fill_pass
from threadline.routing.settings import is_auto

log = structlog.get_logger(__name__)


# A failed pass (a deadlock or serialisation failure PostgreSQL chose us for) is retried.
MAX_ATTEMPTS = 3


_SHARED_KEY = "routing.fill"


async def request_fill(uow: UnitOfWork, workspace_id: int, agent_id: int) -> None:
    """Ask for the agent's free room to be filled from the queue once this change commits
    (auto mode only)."""
    if not await _write_request_in_auto_mode(uow.session, workspace_id, agent_id, uow.clock.now()):
        return
    factory = uow.factory

    async def fill() -> None:
        await fill_requested(factory, workspace_id)

    uow.after_commit((_SHARED_KEY, workspace_id), fill)


# PostgreSQL: whether the workspace routes automatically and, if so, the request written, in
# one statement (a presence change runs it, and the fewer round trips the better).
_REQUEST_IN_AUTO_MODE = text(
    """
        WITH auto AS (
            SELECT workspace_id FROM routing_settings
            WHERE workspace_id = :workspace_id AND mode = 'auto'
        ), written AS (
            INSERT INTO routing_fill_requests (agent_id, workspace_id, requested_at)
            SELECT :agent_id, workspace_id, :requested_at FROM auto
            ON CONFLICT DO NOTHING
        )
        SELECT count(*) FROM auto
        """
).bindparams(
    bindparam("workspace_id", type_=BigInteger()),
    bindparam("agent_id", type_=BigInteger()),
    bindparam("requested_at", type_=UTCDateTime()),
)


async def _write_request_in_auto_mode(
    session: AsyncSession, workspace_id: int, agent_id: int, now: datetime
) -> bool:
    """Write the agent's fill request if the workspace routes automatically (an existing
    request stands); returns whether it does."""
    if on_postgresql(session):
        found = await session.scalar(
            _REQUEST_IN_AUTO_MODE,
            {"workspace_id": workspace_id, "agent_id": agent_id, "requested_at": now},
        )
        return bool(found)
    if not await is_auto(session, workspace_id):
        return False
    await insert_ignoring_conflict(
        session,
        t.RoutingFillRequest,
        {"agent_id": agent_id, "workspace_id": workspace_id, "requested_at": now},
    )
    return True


@dataclass
class _Passes:
    """One workspace's fill passes in this process: requests are numbered as they arrive; a
    pass serves every request numbered before it started."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    requested: int = 0
    served: int = 0


async def fill_requested(factory: UnitOfWorkFactory, workspace_id: int) -> int:
    """Serve the workspace's fill requests (at least every one committed before this call);
    returns how many conversations were assigned or offered. Never raises: the change that
    asked has committed, and a request that could not be served stays for the next pass."""
    passes: dict[int, _Passes] = factory.shared.setdefault(_SHARED_KEY, {})
    state = passes.setdefault(workspace_id, _Passes())
    state.requested += 1
    ticket = state.requested
    async with state.lock:
        if state.served >= ticket:
            return 0  # a pass that started after our request has served it
        covering = state.requested
        total = 0
        try:
            while True:
                taken, placed = await _pass_with_retries(factory, workspace_id)
                total += placed
                if taken < MAX_AGENTS_PER_PASS:
                    break
        except Exception:
            log.exception("routing.fill_failed", workspace_id=workspace_id)
            return total
        state.served = max(state.served, covering)
        return total


async def fill_left_over(factory: UnitOfWorkFactory) -> int:
    """Serve requests that no pass served (the process that wrote them stopped first)."""
    async with factory() as uow:
        workspaces = list(
            (
                await uow.session.execute(select(t.RoutingFillRequest.workspace_id).distinct())
            ).scalars()
        )
    return sum([await fill_requested(factory, workspace_id) for workspace_id in workspaces])


async def _pass_with_retries(factory: UnitOfWorkFactory, workspace_id: int) -> tuple[int, int]:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        async with factory() as uow:
            try:
                taken, placed = await fill_pass(uow, workspace_id)
                await uow.commit()
                return taken, placed
            except OperationalError as exc:
                if attempt == MAX_ATTEMPTS or not worth_retrying(exc):
                    raise
                log.warning("routing.fill_retried", workspace_id=workspace_id, error=str(exc))
                await uow.rollback()
    raise AssertionError("unreachable")
