"""Running Alembic migrations from code (CLI, demo, tests) without an alembic.ini on disk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from threadline.adapters.db.engine import normalise_database_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def sync_database_url(url: str) -> str:
    """Alembic runs on the synchronous drivers of the same databases."""
    parsed = make_url(normalise_database_url(url))
    if parsed.get_backend_name() == "sqlite":
        parsed = parsed.set(drivername="sqlite")
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    else:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sync_database_url(url).replace("%", "%%"))
    return config


def upgrade_to_head(url: str) -> None:
    # "heads": capabilities may add their tables on parallel branches off one base revision.
    command.upgrade(alembic_config(url), "heads")


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database's schema stands against the migrations this version ships."""

    current: frozenset[str]
    expected: frozenset[str]
    known: frozenset[str]

    @property
    def up_to_date(self) -> bool:
        return self.current == self.expected

    def problem(self) -> str | None:
        """What is wrong, in words a person running the command can act on; None if nothing."""
        if self.up_to_date:
            return None
        if not self.current:
            return "the database has no Threadline schema yet"
        if self.current - self.known:
            unknown = ", ".join(sorted(self.current - self.known))
            return (
                f"the database was migrated by a newer Threadline (revision {unknown});"
                " upgrade Threadline"
            )
        return "the database schema is older than this version of Threadline"


def schema_status(url: str) -> SchemaStatus:
    """Compare the database's Alembic revisions with the heads of our migrations. Raises
    sqlalchemy.exc.OperationalError when the database cannot be reached."""
    script = ScriptDirectory.from_config(alembic_config(url))
    known = frozenset(revision.revision for revision in script.walk_revisions())
    expected = frozenset(script.get_heads())
    parsed = make_url(normalise_database_url(url))
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).exists():
            # Asking would create an empty file; there is plainly nothing there yet.
            return SchemaStatus(frozenset(), expected, known)
    engine = sa.create_engine(sync_database_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()
    return SchemaStatus(current, expected, known)
