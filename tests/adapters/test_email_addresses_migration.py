"""Migration 0012 on a database with inboxes: addresses normalised, domains in use kept
working, and shared addresses stopped with a reason a person can act on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.own_database import add_workspace, database_at_revision, run
from threadline.adapters.db.migrate import upgrade_to_head

BEFORE = "0011_revoked_tokens"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own at the revision before 0012 (the shared test ones are at head)."""
    yield from database_at_revision(request, tmp_path, BEFORE)


@pytest.fixture
def acme(empty_database: str) -> int:
    return add_workspace(empty_database, "acme")


@pytest.fixture
def globex(empty_database: str, acme: int) -> int:
    # After acme, so that the workspace ids the upgrade's message names are 1 and 2.
    return add_workspace(empty_database, "globex")


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
    empty_database: str, acme: int, globex: int
) -> None:
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
    empty_database: str, acme: int, globex: int
) -> None:
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
