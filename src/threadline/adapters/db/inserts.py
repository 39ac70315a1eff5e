"""Inserting rows that another transaction may have written at the same moment."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db.engine import on_postgresql
from threadline.adapters.db.tables import Base


async def insert_ignoring_conflict(
    session: AsyncSession, table: type[Base], *rows: dict[str, Any]
) -> None:
    """Insert rows whose key may exist already (written concurrently): those become no-ops."""
    if not rows:
        return
    dialect_insert = pg_insert if on_postgresql(session) else sqlite_insert
    await session.execute(dialect_insert(table).values(list(rows)).on_conflict_do_nothing())
