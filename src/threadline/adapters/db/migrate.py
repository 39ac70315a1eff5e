"""Running Alembic migrations from code (CLI, demo, tests) without an alembic.ini on disk."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
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
