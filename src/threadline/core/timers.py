"""Durable timers: "run this handler for this workspace at that time", exactly once.

A timer is a row in `timers`, keyed by (workspace, key). Scheduling the same key again moves
it and re-arms it, so callers never need to remember whether they armed it before.

Firing happens in two steps (mirroring the outbound claims, adapters/db/outbound_claims.py):
1. claim a batch of due timers with a lease (`locked_until`), in one short committed
   statement. PostgreSQL skips rows other workers hold (FOR UPDATE SKIP LOCKED); SQLite runs
   one writer at a time (BEGIN IMMEDIATE) and the UPDATE re-checks the lease.
2. for each claimed timer, one transaction: lock the row again only if it still carries our
   lease and is still armed, run its handler, mark it fired, commit. The handler's changes
   and "fired" land together or not at all, so a crash before commit leaves the timer due
   (another worker claims it when the lease runs out) and after commit it never fires again.
A handler that raises is rolled back; the timer is retried once its lease has passed, and
given up (status "failed") after MAX_ATTEMPTS.

Every key is spelled by `timer_key`: the timer's kind, then what names the one timer of that
kind (a clock, an offer, a task...), joined by ":". Capabilities build their keys through it,
never by hand, so one kind's keys can never collide with another's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from threadline.adapters.db.engine import on_postgresql
from threadline.adapters.db.leases import lock_if_still_leased, still_leased
from threadline.adapters.db.tables import Timer
from threadline.core.unit_of_work import TimerHandler, UnitOfWork, UnitOfWorkFactory

log = structlog.get_logger(__name__)

ARMED = "armed"
FIRED = "fired"
CANCELLED = "cancelled"
FAILED = "failed"

DEFAULT_LEASE_SECONDS = 60.0
MAX_ATTEMPTS = 10


TimerHandlerMap = Mapping[str, TimerHandler]
"""Timer kind -> `async def handler(uow, workspace_id, payload, fired_at)`.

A handler runs inside the transaction that marks the timer fired: it does the work through
`uow` and does not commit. `fired_at` is the moment the worker fired it (not before
`fire_at`). Each capability lists its own in a `TIMER_HANDLERS` map; `bootstrap.timer_handlers`
gathers them into the unit-of-work factory."""


KEY_SEPARATOR = ":"


def timer_key(kind: str, *parts: int | str) -> str:
    """The key of the timer of `kind` named by `parts`: `timer_key("task.due", 42)` is
    "task.due:42". A part holding the separator would make two timers' keys alike."""
    if not parts:
        raise ValueError("a timer key names its timer: give at least one part after the kind")
    words = [kind, *(str(part) for part in parts)]
    if any(not word or KEY_SEPARATOR in word for word in words):
        raise ValueError(f"timer key parts are non-empty and hold no {KEY_SEPARATOR!r}: {words}")
    return KEY_SEPARATOR.join(words)


def gather_timer_handlers(*maps: TimerHandlerMap) -> dict[str, TimerHandler]:
    gathered: dict[str, TimerHandler] = {}
    for handler_map in maps:
        for kind, handler in handler_map.items():
            if kind in gathered:
                raise RuntimeError(f"timer kind {kind!r} has two handlers")
            gathered[kind] = handler
    return gathered


async def schedule_timer(
    uow: UnitOfWork,
    workspace_id: int,
    *,
    kind: str,
    key: str,
    fire_at: datetime,
    payload: dict[str, Any],
) -> None:
    """Arm (or move and re-arm) the timer `key` of the workspace, in the caller's transaction."""
    if fire_at.tzinfo is None:
        raise ValueError("fire_at must be timezone-aware")
    session = uow.session
    values: dict[str, Any] = {
        "workspace_id": workspace_id,
        "kind": kind,
        "key": key,
        "fire_at": fire_at,
        "payload": payload,
        "status": ARMED,
        "attempts": 0,
        "locked_until": None,
        "last_error": None,
        "fired_at": None,
        "created_at": uow.clock.now(),
    }
    rearm = {name: values[name] for name in values if name not in {"workspace_id", "key"}}
    rearm.pop("created_at")
    insert = postgresql.insert if on_postgresql(session) else sqlite.insert
    statement = insert(Timer).values(**values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["workspace_id", "key"], set_=rearm)
    )


async def cancel_timer(uow: UnitOfWork, workspace_id: int, key: str) -> None:
    """Disarm the timer if it has not fired yet; unknown keys are fine."""
    await uow.session.execute(
        update(Timer)
        .where(Timer.workspace_id == workspace_id, Timer.key == key, Timer.status == ARMED)
        .values(status=CANCELLED, locked_until=None)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True, slots=True)
class ClaimedTimer:
    id: int
    workspace_id: int
    kind: str
    attempts: int
    locked_until: datetime


def _is_due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        Timer.status == ARMED,
        Timer.fire_at <= now,
        or_(Timer.locked_until.is_(None), Timer.locked_until < now),
    )


async def _claim(
    uow_factory: UnitOfWorkFactory, now: datetime, lease: timedelta, limit: int
) -> list[ClaimedTimer]:
    due_ids = (
        select(Timer.id)
        .where(*_is_due(now))
        .order_by(Timer.fire_at, Timer.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    async with uow_factory() as uow:
        result = await uow.session.execute(
            update(Timer)
            .where(Timer.id.in_(due_ids.scalar_subquery()), *_is_due(now))
            .values(locked_until=now + lease, attempts=Timer.attempts + 1)
            .returning(Timer.id, Timer.workspace_id, Timer.kind, Timer.attempts, Timer.locked_until)
            .execution_options(synchronize_session=False)
        )
        claimed = [
            ClaimedTimer(row.id, row.workspace_id, row.kind, row.attempts, row.locked_until)
            for row in result
        ]
        await uow.commit()
    claimed.sort(key=lambda timer: timer.id)
    return claimed


async def fire_due_timers(
    uow_factory: UnitOfWorkFactory,
    now: datetime,
    *,
    batch: int = 100,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> int:
    """Fire the timers due at `now` (up to `batch`); returns how many fired."""
    handlers = uow_factory.timer_handlers
    claimed = await _claim(uow_factory, now, timedelta(seconds=lease_seconds), batch)
    fired = 0
    for timer in claimed:
        try:
            if await _fire_one(uow_factory, handlers, timer, now):
                fired += 1
        except Exception as exc:
            # Rolled back: the lease keeps it off until it passes, then it is tried again.
            log.exception("timers.handler_failed", timer_id=timer.id, kind=timer.kind)
            await _record_failure(uow_factory, timer, f"{exc!r}"[:500])
    return fired


async def _fire_one(
    uow_factory: UnitOfWorkFactory,
    handlers: dict[str, TimerHandler],
    claimed: ClaimedTimer,
    now: datetime,
) -> bool:
    async with uow_factory() as uow:
        row = await lock_if_still_leased(
            uow.session, Timer, claimed.id, ARMED, claimed.locked_until
        )
        if row is None:
            # Re-scheduled, cancelled or taken over by another worker since we claimed it.
            return False
        handler = handlers.get(row.kind)
        if handler is None:
            row.status = FAILED
            row.last_error = f"no handler is registered for timer kind {row.kind!r}"
            row.locked_until = None
            await uow.commit()
            log.error("timers.no_handler", timer_id=row.id, kind=row.kind)
            return False
        # Marked first, so a handler that re-schedules its own key (a repeating timer)
        # re-arms it instead of being overwritten by "fired".
        row.status = FIRED
        row.fired_at = now
        row.locked_until = None
        await uow.session.flush()
        await handler(uow, row.workspace_id, dict(row.payload), now)
        await uow.commit()
    log.info("timers.fired", timer_id=claimed.id, kind=claimed.kind)
    return True


async def _record_failure(uow_factory: UnitOfWorkFactory, timer: ClaimedTimer, error: str) -> None:
    try:
        async with uow_factory() as uow:
            values: dict[str, Any] = {"last_error": error}
            if timer.attempts >= MAX_ATTEMPTS:
                values.update(status=FAILED, locked_until=None)
            await uow.session.execute(
                update(Timer)
                .where(still_leased(Timer, timer.id, ARMED, timer.locked_until))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            await uow.commit()
    except Exception:
        log.exception("timers.record_failure_failed", timer_id=timer.id)
