"""Durable timers fire once, at the right time, across restarts and worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import WorkspaceFixture
from tests.support.timers import RECORD_KIND, fire_log, reset_fire_log, with_record_kind
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime, build_runtime
from threadline.config import Settings
from threadline.core.timers import cancel_timer, fire_due_timers, schedule_timer

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _fires_record_kind(runtime: Runtime) -> None:
    with_record_kind(runtime)


ROOT = Path(__file__).resolve().parents[2]


async def _schedule(runtime: Runtime, ws: int, key: str, fire_at: datetime, note: str = "") -> None:
    async with runtime.uow() as uow:
        await schedule_timer(
            uow, ws, kind=RECORD_KIND, key=key, fire_at=fire_at, payload={"key": key, "note": note}
        )
        await uow.commit()


async def test_a_timer_fires_once_at_its_time(
    runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    await reset_fire_log(runtime.engine)
    due = clock.now() + timedelta(minutes=5)
    await _schedule(runtime, workspace.id, "reminder", due)

    clock.set(due - timedelta(seconds=1))
    assert await fire_due_timers(runtime.uow, clock.now()) == 0
    clock.set(due)
    assert await fire_due_timers(runtime.uow, clock.now()) == 1
    clock.advance(timedelta(hours=1))
    assert await fire_due_timers(runtime.uow, clock.now()) == 0

    assert [key for key, _, _ in await fire_log(runtime.engine)] == ["reminder"]
    async with runtime.uow() as uow:
        timer = (await uow.session.execute(select(t.Timer))).scalar_one()
        assert (timer.status, timer.fired_at) == ("fired", due)


async def test_rescheduling_moves_the_timer_and_cancel_disarms_it(
    runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    await reset_fire_log(runtime.engine)
    start = clock.now()
    await _schedule(runtime, workspace.id, "moved", start + timedelta(minutes=5), "first")
    await _schedule(runtime, workspace.id, "moved", start + timedelta(minutes=10), "second")
    await _schedule(runtime, workspace.id, "cancelled", start + timedelta(minutes=5))
    async with runtime.uow() as uow:
        await cancel_timer(uow, workspace.id, "cancelled")
        await uow.commit()

    assert await fire_due_timers(runtime.uow, start + timedelta(minutes=6)) == 0
    assert await fire_due_timers(runtime.uow, start + timedelta(minutes=10)) == 1
    assert await fire_log(runtime.engine) == [("moved", os.getpid(), "second")]

    # A fired timer scheduled again under its key is armed afresh.
    await _schedule(runtime, workspace.id, "moved", start + timedelta(minutes=20), "third")
    assert await fire_due_timers(runtime.uow, start + timedelta(minutes=30)) == 1
    assert [note for _, _, note in await fire_log(runtime.engine)] == ["second", "third"]


async def test_timers_of_one_workspace_do_not_collide_with_another(
    runtime: Runtime,
    workspace: WorkspaceFixture,
    other_workspace: WorkspaceFixture,
    clock: ManualClock,
) -> None:
    await reset_fire_log(runtime.engine)
    due = clock.now() + timedelta(minutes=1)
    await _schedule(runtime, workspace.id, "same-key", due, "acme")
    await _schedule(runtime, other_workspace.id, "same-key", due, "globex")
    assert await fire_due_timers(runtime.uow, due) == 2
    assert sorted(note or "" for _, _, note in await fire_log(runtime.engine)) == [
        "acme",
        "globex",
    ]


async def test_a_timer_survives_a_restart_between_arm_and_fire(
    runtime: Runtime, settings: Settings, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    await reset_fire_log(runtime.engine)
    due = clock.now() + timedelta(hours=2)
    await _schedule(runtime, workspace.id, "after-restart", due)
    await runtime.close()

    restarted = with_record_kind(
        build_runtime(settings, clock=ManualClock(due + timedelta(seconds=3)))
    )
    try:
        assert await fire_due_timers(restarted.uow, restarted.clock.now()) == 1
        assert await fire_due_timers(restarted.uow, restarted.clock.now()) == 0
        # A second restarted process finds nothing left to fire.
        again = with_record_kind(
            build_runtime(settings, clock=ManualClock(due + timedelta(minutes=5)))
        )
        try:
            assert await fire_due_timers(again.uow, again.clock.now()) == 0
        finally:
            await again.close()
        assert [key for key, _, _ in await fire_log(restarted.engine)] == ["after-restart"]
    finally:
        await restarted.close()


async def test_a_crash_inside_the_handler_leaves_the_timer_due(
    runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    """A handler that fails is rolled back with its "fired" mark: nothing half-done, and the
    timer fires once its lease has passed."""
    await reset_fire_log(runtime.engine)
    due = clock.now() + timedelta(minutes=1)
    async with runtime.uow() as uow:
        await schedule_timer(
            uow, workspace.id, kind=RECORD_KIND, key="fragile", fire_at=due, payload={}
        )
        await uow.commit()
    # The payload lacks "key": the handler raises KeyError.
    assert await fire_due_timers(runtime.uow, due, lease_seconds=30) == 0
    assert await fire_log(runtime.engine) == []
    async with runtime.uow() as uow:
        await schedule_timer(
            uow, workspace.id, kind=RECORD_KIND, key="fragile", fire_at=due, payload={"key": "f"}
        )
        await uow.commit()
    assert await fire_due_timers(runtime.uow, due + timedelta(seconds=1)) == 1
    assert [key for key, _, _ in await fire_log(runtime.engine)] == ["f"]


@pytest.mark.postgres_only
@pytest.mark.slow
async def test_two_worker_processes_fire_each_of_200_timers_exactly_once(
    postgres_database: str, tmp_path: Path
) -> None:
    from tests.conftest import emptied_postgres_runtime, make_workspace

    runtime = emptied_postgres_runtime(postgres_database)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        await reset_fire_log(runtime.engine)
        ws = await make_workspace(runtime, "twoworkers")
        # The workers run on the system clock: due a moment from now, all at once.
        due = datetime.now(UTC) + timedelta(seconds=1)
        async with runtime.uow() as uow:
            for number in range(200):
                key = f"timer-{number}"
                await schedule_timer(
                    uow, ws.id, kind=RECORD_KIND, key=key, fire_at=due, payload={"key": key}
                )
            await uow.commit()

        for name in ("a", "b"):
            processes.append(_start_worker(postgres_database, tmp_path / f"worker-{name}.log"))

        deadline = time.monotonic() + 60
        fired: list[tuple[str, int, str | None]] = []
        while time.monotonic() < deadline:
            fired = await fire_log(runtime.engine)
            if len(fired) >= 200:
                break
            await _sleep(0.2)
        await _sleep(1.5)  # any double firing would show up now
        fired = await fire_log(runtime.engine)
        counts = Counter(key for key, _, _ in fired)
        assert len(counts) == 200, (tmp_path / "worker-a.log").read_text()[-2000:]
        assert set(counts.values()) == {1}
        async with runtime.uow() as uow:
            statuses = (await uow.session.execute(select(t.Timer.status))).scalars().all()
        assert Counter(statuses) == {"fired": 200}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        await runtime.close()


def _start_worker(database_url: str, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "THREADLINE_DATABASE_URL": database_url,
        "THREADLINE_REDIS_URL": "",
        "PYTHONUNBUFFERED": "1",
    }
    script = (
        "import tests.support.timers as s\n"
        "s.run_worker(batch_size=10)\n"  # small batches, so both workers get a share
    )
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-c", script], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
