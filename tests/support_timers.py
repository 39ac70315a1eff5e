"""A timer kind for tests that records every firing in a table of its own, so that a test
(or a worker process importing this module) can count how often each timer fired."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from threadline.core.timers import timer_handler
from threadline.core.unit_of_work import UnitOfWork

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


@timer_handler(RECORD_KIND)
async def record_firing(
    uow: UnitOfWork, workspace_id: int, payload: dict[str, Any], fired_at: datetime
) -> None:
    await uow.session.execute(
        text("INSERT INTO timer_test_fires (timer_key, pid, note) VALUES (:key, :pid, :note)"),
        {"key": payload["key"], "pid": os.getpid(), "note": payload.get("note")},
    )
