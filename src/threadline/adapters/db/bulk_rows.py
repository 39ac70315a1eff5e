"""Writing many rows of one table in one statement, whatever their number.

On PostgreSQL each column's values go as one array parameter and the statement reads them
back with `unnest`: its text is the same for 3 rows or 300, so the driver and the server
reuse their parsed and planned form, and no per-object bookkeeping of the ORM's flush is
paid (a fill pass writes hundreds of assignments at once). Elsewhere (SQLite) the rows go
as an executemany.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, any_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.selectable import TableValuedAlias

from threadline.adapters.db.engine import on_postgresql


def _table(model: type[DeclarativeBase]) -> Table:
    return cast(Table, model.__table__)


def _unnested(
    model: type[DeclarativeBase], names: list[str], rows: Sequence[dict[str, Any]]
) -> TableValuedAlias:
    """The rows as a table: `unnest(array of each column's values) AS v(names)`."""
    columns = _table(model).c
    arrays = [
        bindparam(None, [row[name] for row in rows], type_=ARRAY(columns[name].type))
        for name in names
    ]
    return func.unnest(*arrays).table_valued(*names).render_derived()


async def insert_rows(
    session: AsyncSession,
    model: type[DeclarativeBase],
    rows: Sequence[dict[str, Any]],
    returning: Sequence[str],
) -> list[Row[Any]]:
    """Insert the rows (all with the same keys); returns the `returning` columns of each
    inserted row, in no particular order."""
    if not rows:
        return []
    columns = _table(model).c
    names = list(rows[0])
    out = [columns[name] for name in returning]
    if on_postgresql(session):
        values = _unnested(model, names, rows)
        query = (
            insert(model)
            .from_select(names, select(*(values.c[name] for name in names)))
            .returning(*out)
        )
        return list(await session.execute(query))
    return list(await session.execute(insert(_table(model)).returning(*out), list(rows)))


async def update_rows(
    session: AsyncSession,
    model: type[DeclarativeBase],
    key: str,
    rows: Sequence[dict[str, Any]],
) -> None:
    """Set each row's other columns where `key` (the primary key) equals its `key` value."""
    if not rows:
        return
    columns = _table(model).c
    names = list(rows[0])
    changed = [name for name in names if name != key]
    if on_postgresql(session):
        values = _unnested(model, names, rows)
        keys = bindparam(None, [row[key] for row in rows], type_=ARRAY(columns[key].type))
        await session.execute(
            update(_table(model))
            # `= ANY(keys)` as well as the join: the planner then reads the rows by their key
            # (it may otherwise scan the whole table to hash-join a few rows).
            .where(columns[key] == any_(keys), columns[key] == values.c[key])
            .values({name: values.c[name] for name in changed})
        )
        return
    await session.execute(
        update(_table(model))
        .where(columns[key] == bindparam(f"row_{key}"))
        .values({name: bindparam(f"row_{name}") for name in changed}),
        [{f"row_{name}": value for name, value in row.items()} for row in rows],
    )
