"""Whether a database's schema is the one this code expects: every Alembic head applied.

There may be several heads by design (capabilities branch off one base revision, see
migrate.py), so "at head" means: the revisions recorded in `alembic_version` are exactly the
heads of our migration scripts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.db.engine import create_engine, normalise_database_url
from threadline.adapters.db.migrate import MIGRATIONS_DIR

VERSION_TABLE = "alembic_version"
MIGRATE_HINT = "run `threadline migrate`"


@lru_cache(maxsize=1)
def _scripts() -> tuple[frozenset[str], frozenset[str]]:
    """(heads, every known revision) of the migration scripts, read once per process."""
    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    known = frozenset(revision.revision for revision in scripts.walk_revisions())
    return frozenset(scripts.get_heads()), known


async def applied_revisions(connection: AsyncConnection) -> frozenset[str] | None:
    """The revisions the database records; None when it has no version table at all."""
    has_table = await connection.run_sync(lambda sync: inspect(sync).has_table(VERSION_TABLE))
    if not has_table:
        return None
    rows = await connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))  # noqa: S608
    return frozenset(rows.scalars())


def schema_problem(applied: frozenset[str] | None) -> str | None:
    """Why a database with these applied revisions is not what this code expects, or None."""
    heads, known = _scripts()
    if not applied:
        return f"the database has no schema yet: {MIGRATE_HINT}"
    unknown = sorted(applied - known)
    if unknown:
        return (
            f"the database is at revision {', '.join(unknown)}, which this release does not "
            "know (migrated by a newer release?)"
        )
    if applied != heads:
        return (
            f"the database is at {', '.join(sorted(applied))}; this release expects "
            f"{', '.join(sorted(heads))}: {MIGRATE_HINT}"
        )
    return None


async def database_schema_problem(url: str) -> str | None:
    """`schema_problem` of the database at `url`, for commands run before anything else
    (an SQLite file that does not exist is not created by asking). Raises SQLAlchemy's
    errors when the database cannot be reached."""
    if _sqlite_file_missing(url):
        return schema_problem(None)
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return schema_problem(await applied_revisions(connection))
    finally:
        await engine.dispose()


def _sqlite_file_missing(url: str) -> bool:
    parsed = make_url(normalise_database_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return False
    return not Path(parsed.database).exists()
