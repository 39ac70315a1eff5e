"""Databases of a test's own, for migration tests that move them between revisions (the
shared test databases stay at head), and plain SQL against them as the old code wrote it."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from alembic import command

from tests.conftest import PG_ADMIN_DSN
from threadline.adapters.db.migrate import alembic_config, sync_database_url, upgrade_to_head


def database_at_revision(
    request: pytest.FixtureRequest, tmp_path: Path, revision: str | None = None
) -> Iterator[str]:
    """For a fixture parametrised with "sqlite" and "postgresql": the URL of a new database at
    `revision` (None: head), dropped afterwards."""
    if request.param == "sqlite":
        path = tmp_path / "upgrade.db"
        url = f"sqlite+aiosqlite:///{path}"
        if revision is None:
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
        else:
            command.upgrade(alembic_config(url), revision)
        yield url
        return
    request.getfixturevalue("postgres_database")  # skips (or fails in CI) without PostgreSQL
    name = f"threadline_upgrade_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    url = f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        if revision is None:
            upgrade_to_head(url)
        else:
            command.upgrade(alembic_config(url), revision)
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(url: str, statement: str, **params: object) -> list[sa.Row[*tuple[Any, ...]]]:
    engine = sa.create_engine(sync_database_url(url))
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        engine.dispose()


def add_workspace(url: str, slug: str, name: str | None = None) -> int:
    """A workspace row as every revision since the first holds it; its id."""
    run(
        url,
        "INSERT INTO workspaces (name, slug, default_region, timezone, reopen_window_seconds,"
        " agents_see_all, event_seq, created_at)"
        " VALUES (:name, :slug, 'PL', 'UTC', 3600, true, 0, '2026-01-01 00:00:00')",
        name=name or slug,
        slug=slug,
    )
    return int(run(url, "SELECT id FROM workspaces WHERE slug = :slug", slug=slug)[0][0])
