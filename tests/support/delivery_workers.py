"""Outbound workers as real OS processes (`python -m threadline.entrypoints.outbound_worker`),
for the kill -9 tests: started with their own settings, killed hard, stopped at the end; and
a wait for every reply to be sent.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime

WORKER_COMMAND = [sys.executable, "-m", "threadline.entrypoints.outbound_worker"]


def wait_or_kill(process: subprocess.Popen[bytes], grace_seconds: float = 10) -> None:
    """Wait for a process told to end; kill it if it has not ended within the grace."""
    try:
        process.wait(grace_seconds)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(5)


def _environment_name(setting: str) -> str:
    return f"THREADLINE_{setting.upper()}"


class WorkerProcesses:
    """Starts outbound workers on `database_url`, each logging to its own file in `log_dir`,
    with `settings` (Settings field names) for all of them; stops whatever is left at the end."""

    def __init__(self, database_url: str, log_dir: Path, **settings: object) -> None:
        self.env = {
            **os.environ,
            "THREADLINE_DATABASE_URL": database_url,
            "THREADLINE_REDIS_URL": "",
            **{_environment_name(name): str(value) for name, value in settings.items()},
            "PYTHONUNBUFFERED": "1",
        }
        self.log_dir = log_dir
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str | None = None, **settings: object) -> Path:
        """One more worker, with `settings` on top of the shared ones; its log file."""
        env = {**self.env, **{_environment_name(k): str(v) for k, v in settings.items()}}
        log_path = self.log_dir / f"{name or f'worker-{len(self.started)}'}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                WORKER_COMMAND, env=env, stdout=log_file, stderr=subprocess.STDOUT
            )
        self.started.append(process)
        return log_path

    def kill_hard(self, index: int) -> None:
        """kill -9: the worker gets no chance to finish or release anything."""
        process = self.started[index]
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(10) == -signal.SIGKILL

    def stop_all(self) -> None:
        # All are told first, so that they end side by side rather than one after another.
        for process in self.started:
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            wait_or_kill(process)


async def wait_until_all_sent(
    runtime: Runtime, count: int, within: float, poll_seconds: float = 0.1
) -> None:
    """Until `count` outbound messages are sent; fails naming how many were, after `within`."""
    deadline = time.monotonic() + within
    done = 0
    while time.monotonic() < deadline:
        async with runtime.sessionmaker() as session:
            done = (
                await session.execute(
                    select(func.count())
                    .select_from(t.Message)
                    .where(t.Message.direction == "outbound", t.Message.delivery_status == "sent")
                )
            ).scalar_one()
        if done >= count:
            return
        await asyncio.sleep(poll_seconds)
    raise AssertionError(f"only {done} of {count} replies were sent within {within}s")
