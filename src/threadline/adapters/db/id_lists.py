"""`column IN (ids)` that stays one short statement however many ids there are."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BigInteger, ColumnElement, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import SQLCoreOperations

from threadline.adapters.db.engine import on_postgresql


def among(
    session: AsyncSession,
    column: SQLCoreOperations[int] | SQLCoreOperations[int | None],
    ids: Iterable[int],
) -> ColumnElement[bool]:
    """`column IN ids`. On PostgreSQL the ids go as one array parameter (`= ANY(...)`): a
    list of hundreds of ids would otherwise make a long statement with a placeholder per id,
    which the driver parses anew on every run (only short statements are cached)."""
    values = list(ids)
    if on_postgresql(session):
        return column == any_(bindparam(None, values, type_=ARRAY(BigInteger)))
    return column.in_(values)
