"""The `threadline` command: migrate, seed, create-admin and demo, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from typer.testing import CliRunner

from threadline.adapters.db.migrate import alembic_config, sync_database_url
from threadline.bootstrap import build_runtime
from threadline.config import Settings
from threadline.entrypoints.api.app import create_app
from threadline.entrypoints.cli import app
from threadline.seed import DEMO_PASSWORD, DEMO_SLUG

SMALL_SEED = ["--customers", "20", "--conversations", "60"]


def run_cli(*args: str, input: str | None = None) -> str:
    result = CliRunner().invoke(app, list(args), input=input)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def scalar(url: str, query: str) -> int:
    engine = sa.create_engine(sync_database_url(url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(query)).scalar_one())
    finally:
        engine.dispose()


def sign_in(url: str, workspace: str, email: str, password: str) -> httpx.Response:
    return asyncio.run(_sign_in(url, workspace, email, password))


async def _sign_in(url: str, workspace: str, email: str, password: str) -> httpx.Response:
    runtime = build_runtime(Settings(database_url=url, redis_url="", run_outbound_worker=False))
    try:
        transport = httpx.ASGITransport(app=create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://threadline.test") as c:
            return await c.post(
                "/api/v1/auth/login",
                json={"workspace": workspace, "email": email, "password": password},
            )
    finally:
        await runtime.close()


def test_migrate_creates_the_schema_in_a_new_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'fresh.db'}"
    output = run_cli("migrate", "--database-url", url)
    assert "up to date" in output
    assert scalar(url, "SELECT count(*) FROM workspaces") == 0
    # Running it again is harmless.
    run_cli("migrate", "--database-url", url)


def test_seed_builds_a_multichannel_demo_that_agents_can_sign_into(database_url: str) -> None:
    run_cli("migrate", "--database-url", database_url)
    output = run_cli("seed", "--database-url", database_url, *SMALL_SEED)
    assert "Seeded workspace 'demo'" in output

    assert scalar(database_url, "SELECT count(*) FROM agents") == 8
    assert scalar(database_url, "SELECT count(*) FROM customers") == 20
    assert scalar(database_url, "SELECT count(*) FROM conversations") == 60
    # Every customer is reachable on several identities (email and phone at least).
    assert (
        scalar(
            database_url,
            "SELECT count(*) FROM (SELECT customer_id FROM identities "
            "GROUP BY customer_id HAVING count(*) >= 2) AS multi",
        )
        == 20
    )
    # Matters move between channels inside one conversation.
    multichannel = scalar(
        database_url,
        "SELECT count(*) FROM (SELECT conversation_id FROM messages "
        "GROUP BY conversation_id HAVING count(DISTINCT channel) > 1) AS mixed",
    )
    assert multichannel >= 40
    assert scalar(database_url, "SELECT count(DISTINCT channel) FROM messages") >= 5
    assert scalar(database_url, "SELECT count(*) FROM messages WHERE direction = 'outbound'") > 0
    assert (
        scalar(
            database_url,
            "SELECT count(*) FROM conversations "
            "WHERE status = 'resolved' AND wrap_up_code IS NOT NULL",
        )
        > 0
    )
    # Seeded replies count as delivered, so a starting worker has nothing to send.
    assert scalar(database_url, "SELECT count(*) FROM outbound_jobs WHERE status = 'pending'") == 0

    for email in ("admin@demo.example.com", "kasia@demo.example.com"):
        response = sign_in(database_url, DEMO_SLUG, email, DEMO_PASSWORD)
        assert response.status_code == 200, response.text
        assert response.json()["agent"]["photo_url"].startswith("data:image/svg+xml")

    again = run_cli("seed", "--database-url", database_url, *SMALL_SEED)
    assert "exists already" in again
    assert scalar(database_url, "SELECT count(*) FROM conversations") == 60


def test_create_admin_needs_an_existing_workspace_unless_asked_to_create_it(
    database_url: str,
) -> None:
    runner = CliRunner()
    base = ["create-admin", "--workspace", "northwind", "--database-url", database_url]
    admin = ["--email", "Boss@Northwind.example.com", "--name", "Nora Boss"]

    refused = runner.invoke(app, [*base, *admin, "--password", "a-long-password"])
    assert refused.exit_code == 1
    assert "no workspace 'northwind'" in refused.output

    # Without --password the password is asked for twice, hidden.
    created = runner.invoke(
        app,
        [*base, *admin, "--create-workspace", "--region", "de"],
        input="a-long-password\na-long-password\n",
    )
    assert created.exit_code == 0, created.output
    assert "a-long-password" not in created.output
    assert scalar(database_url, "SELECT count(*) FROM workspaces WHERE default_region = 'DE'") == 1

    response = sign_in(database_url, "northwind", "boss@northwind.example.com", "a-long-password")
    assert response.status_code == 200, response.text
    assert response.json()["agent"]["role"] == "admin"

    duplicate = runner.invoke(app, [*base, *admin, "--password", "another-password"])
    assert duplicate.exit_code == 1
    assert "exists already" in duplicate.output


def run_cli_failing(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 1, result.output + repr(result.exception)
    # A sentence for a person, never a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


def downgraded_to(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def test_commands_on_an_unmigrated_database_say_to_migrate_first(
    database_url: str, tmp_path: Path
) -> None:
    fresh = f"sqlite+aiosqlite:///{tmp_path / 'never-migrated.db'}"
    admin = ["--workspace", "w", "--email", "a@w.example.com", "--name", "A"]
    commands = [
        ["seed"],
        ["create-admin", *admin, "--password", "a-long-password"],
        ["serve"],
        ["email-domain", "allow", "--workspace", "w", "--domain", "w.example.com"],
    ]
    for args in commands:
        output = run_cli_failing(*args, "--database-url", fresh)
        assert "the database has no schema yet: run `threadline migrate`" in output, output
    # Asking did not leave an empty database file behind.
    assert not (tmp_path / "never-migrated.db").exists()

    # A schema from an older version (the newest migration not applied) on either database.
    downgraded_to(database_url, "-1")
    output = run_cli_failing("seed", "--database-url", database_url, *SMALL_SEED)
    assert "this release expects" in output and "run `threadline migrate`" in output, output
    run_cli("migrate", "--database-url", database_url)
    assert "Seeded" in run_cli("seed", "--database-url", database_url, *SMALL_SEED)


def test_a_database_that_cannot_be_reached_is_named_with_the_reason() -> None:
    closed = f"postgresql://postgres:secret-pw@127.0.0.1:{_free_port()}/threadline"
    output = run_cli_failing("seed", "--database-url", closed)
    assert "cannot reach the database" in output and "refused" in output.lower(), output
    assert "secret-pw" not in output


def test_create_admin_takes_a_dot_test_address_for_local_use(database_url: str) -> None:
    run_cli(
        "create-admin",
        *("--workspace", "shop", "--email", "Admin@Shop.test", "--name", "Sam Admin"),
        *("--password", "a-long-password", "--create-workspace", "--database-url", database_url),
    )
    response = sign_in(database_url, "shop", "admin@shop.test", "a-long-password")
    assert response.status_code == 200, response.text
    # An address that can be no one's says why, and what would work.
    output = run_cli_failing(
        "create-admin",
        *("--workspace", "shop", "--email", "admin@localhost", "--name", "Lo Cal"),
        *("--password", "a-long-password", "--database-url", database_url),
    )
    assert "special-use or reserved name" in output and ".test" in output, output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_demo_migrates_seeds_and_serves(tmp_path: Path) -> None:
    port = _free_port()
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    env = {**os.environ, "THREADLINE_RUN_OUTBOUND_WORKER": "false", "COLUMNS": "200"}
    command = [sys.executable, "-m", "threadline.entrypoints.cli", "demo", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--database-url", url, "--customers", "10", "--conversations", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the demo did not start within 90 s"
            time.sleep(0.2)
        response = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/login",
            json={"workspace": DEMO_SLUG, "email": "admin@demo.example.com", "password": "x"},
        )
        assert response.status_code == 401
        response = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/auth/login",
            json={
                "workspace": DEMO_SLUG,
                "email": "admin@demo.example.com",
                "password": DEMO_PASSWORD,
            },
        )
        assert response.status_code == 200, response.text
        assert httpx.get(f"http://127.0.0.1:{port}/docs").status_code == 200
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/docs" in output
    assert "admin@demo.example.com" in output
    assert DEMO_PASSWORD in output
