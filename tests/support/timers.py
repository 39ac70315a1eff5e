"""A timer kind for tests that records every firing in a table of its own, so that a test
(or a worker process started with `run_worker`) can count how often each timer fired.
A runtime fires it once `with_record_kind` has added it to the runtime's timer handlers."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from threadline.bootstrap import Runtime, build_runtime
from threadline.config import Settings
from threadline.core.unit_of_work import UnitOfWork
from threadline.entrypoints import timer_worker
from threadline.entrypoints.logging_setup import configure_logging

RECORD_KIND = "test.record"


async def reset_fire_log(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS timer_test_fires "
                "(timer_key VARCHAR(200) NOT NULL, pid INTEGER NOT NULL, note VARCHAR(200))"
            )
        )
        await conn.execute(text("DELETE FROM timer_test_fires"))


async def fire_log(engine: AsyncEngine) -> list[tuple[str, int, str | None]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT timer_key, pid, note FROM timer_test_fires"))
        return [(row[0], row[1], row[2]) for row in rows]


async def record_firing(
    uow: UnitOfWork, workspace_id: int, payload: dict[str, Any], fired_at: datetime
) -> None:
    await uow.session.execute(
        text("INSERT INTO timer_test_fires (timer_key, pid, note) VALUES (:key, :pid, :note)"),
        {"key": payload["key"], "pid": os.getpid(), "note": payload.get("note")},
    )


def with_record_kind(runtime: Runtime) -> Runtime:
    runtime.uow.timer_handlers[RECORD_KIND] = record_firing
    return runtime


def run_worker(batch_size: int) -> None:
    """A timer worker process like `threadline worker`'s, which also fires RECORD_KIND."""
    settings = Settings()
    configure_logging(settings)
    timer_worker.BATCH_SIZE = batch_size

    async def serve() -> None:
        runtime = with_record_kind(build_runtime(settings))
        try:
            await timer_worker.run_timer_worker(runtime)
        finally:
            await runtime.close()

    asyncio.run(serve())
