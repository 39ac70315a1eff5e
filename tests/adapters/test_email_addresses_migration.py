"""Migration 0012 on a database with inboxes: addresses normalised, domains in use kept
working, and shared addresses stopped with a reason a person can act on."""

from __future__ import annotations

import os
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

BEFORE = "0011_revoked_tokens"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own at the revision before 0012 (the shared test ones are at head)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'upgrade.db'}"
        command.upgrade(alembic_config(url), BEFORE)
        yield url
        return
    request.getfixturevalue("postgres_database")  # skips (or fails in CI) without PostgreSQL
    name = f"threadline_upgrade_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    url = f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        command.upgrade(alembic_config(url), BEFORE)
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


def add_workspace(url: str, slug: str) -> int:
    run(
        url,
        "INSERT INTO workspaces (name, slug, default_region, timezone, reopen_window_seconds,"
        " agents_see_all, event_seq, created_at)"
        " VALUES (:slug, :slug, 'PL', 'UTC', 3600, true, 0, '2026-01-01 00:00:00')",
        slug=slug,
    )
    return int(run(url, "SELECT id FROM workspaces WHERE slug = :slug", slug=slug)[0][0])


def add_inbox(url: str, workspace_id: int, name: str, channel: str, address: str) -> None:
    run(
        url,
        "INSERT INTO inboxes (workspace_id, name, channel, address, settings, secret, created_at)"
        " VALUES (:ws, :name, :channel, :address, '{}', 'a-secret-of-this-inbox',"
        " '2026-01-01 00:00:00')",
        ws=workspace_id,
        name=name,
        channel=channel,
        address=address,
    )


def test_existing_addresses_are_normalised_and_their_domains_stay_usable(
    empty_database: str,
) -> None:
    acme = add_workspace(empty_database, "acme")
    globex = add_workspace(empty_database, "globex")
    add_inbox(empty_database, acme, "Support", "email", " Support@Acme.Example.com")
    add_inbox(empty_database, acme, "Team", "email", "acme.team@mail.example.net")
    add_inbox(empty_database, globex, "Sales", "email", "sales@globex.example.com")
    add_inbox(empty_database, globex, "Team", "email", "globex.team@mail.example.net")
    add_inbox(empty_database, acme, "SMS", "sms", "+48223074000")
    add_inbox(empty_database, globex, "SMS", "sms", "+48223074000")

    upgrade_to_head(empty_database)

    addresses = run(
        empty_database, "SELECT address FROM inboxes WHERE channel = 'email' ORDER BY id"
    )
    assert [a for (a,) in addresses] == [
        "support@acme.example.com",
        "acme.team@mail.example.net",
        "sales@globex.example.com",
        "globex.team@mail.example.net",
    ]
    domains = run(
        empty_database,
        "SELECT w.slug, d.domain, d.allowed_by FROM email_domains d"
        " JOIN workspaces w ON w.id = d.workspace_id ORDER BY d.domain",
    )
    # A domain two workspaces used is left to the operator to decide.
    assert [tuple(row) for row in domains] == [
        ("acme", "acme.example.com", "existing inboxes at upgrade"),
        ("globex", "globex.example.com", "existing inboxes at upgrade"),
    ]


def test_an_address_two_inboxes_share_stops_the_upgrade_and_names_them(
    empty_database: str,
) -> None:
    acme = add_workspace(empty_database, "acme")
    globex = add_workspace(empty_database, "globex")
    add_inbox(empty_database, acme, "Support", "email", "support@acme.example.com")
    add_inbox(empty_database, globex, "Stolen", "email", "SUPPORT@acme.example.com")

    with pytest.raises(RuntimeError) as refused:
        upgrade_to_head(empty_database)
    reason = str(refused.value)
    assert "support@acme.example.com: inbox 1 (workspace 1), inbox 2 (workspace 2)" in reason
    assert "threadline migrate" in reason

    run(empty_database, "UPDATE inboxes SET address = NULL WHERE id = 2")
    upgrade_to_head(empty_database)
    assert run(empty_database, "SELECT count(*) FROM email_domains")[0][0] == 1
