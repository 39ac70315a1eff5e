"""GET /healthz (the process answers) and GET /readyz (the database answers, its schema is at
every migration head, Redis answers when configured): 503 with a reason per failed check."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.script import ScriptDirectory

from threadline.adapters.db.migrate import alembic_config
from threadline.bootstrap import build_runtime
from threadline.config import Settings
from threadline.entrypoints.api.app import create_app

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def app_on(**settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The API of an installation with these settings (its own runtime)."""
    runtime = build_runtime(Settings(run_outbound_worker=False, **settings))
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://threadline.test") as c:
            yield c
    finally:
        await runtime.close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def checks_of(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in body["checks"]}


def assert_not_ready(response: httpx.Response, failed: str) -> str:
    """A 503 problem naming `failed` among its failed checks; returns that check's reason."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Not ready"
    check = checks_of(body)[failed]
    assert check["ok"] is False
    assert check["reason"] and f"{failed}: {check['reason']}" in body["detail"]
    return str(check["reason"])


async def test_a_migrated_database_is_ready(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "checks": [
            {"name": "database", "ok": True, "reason": None},
            {"name": "migrations", "ok": True, "reason": None},
        ],
    }
    live = await client.get("/healthz")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})


async def test_ready_with_redis_when_redis_is_configured(database_url: str, redis_url: str) -> None:
    async with app_on(database_url=database_url, redis_url=redis_url) as app:
        response = await app.get("/readyz")
    assert response.status_code == 200, response.text
    assert checks_of(response.json())["redis"] == {"name": "redis", "ok": True, "reason": None}


async def test_an_unmigrated_database_is_not_ready(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    async with app_on(database_url=f"sqlite+aiosqlite:///{empty}") as app:
        response = await app.get("/readyz")
        live = await app.get("/healthz")
    reason = assert_not_ready(response, "migrations")
    assert "no schema" in reason and "threadline migrate" in reason
    assert checks_of(response.json())["database"]["ok"] is True
    # Liveness is about the process only: restarting it would not migrate the database.
    assert live.status_code == 200


async def test_a_database_one_revision_behind_is_not_ready(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'behind.db'}"
    config = alembic_config(url)
    scripts = ScriptDirectory.from_config(config)
    behind, *others = sorted(scripts.get_heads())
    parent = scripts.get_revision(behind).down_revision
    assert parent is not None
    for target in (*((parent,) if isinstance(parent, str) else parent), *others):
        command.upgrade(config, target)

    async with app_on(database_url=url) as app:
        response = await app.get("/readyz")
    reason = assert_not_ready(response, "migrations")
    assert behind in reason and "threadline migrate" in reason


async def test_an_unreachable_redis_makes_it_not_ready(database_url: str) -> None:
    redis_url = f"redis://127.0.0.1:{closed_port()}/0"
    async with app_on(database_url=database_url, redis_url=redis_url) as app:
        response = await app.get("/readyz")
    reason = assert_not_ready(response, "redis")
    assert "Redis" in reason
    assert "127.0.0.1" not in response.text  # no address of the installation's services
    checks = checks_of(response.json())
    assert checks["database"]["ok"] and checks["migrations"]["ok"]


async def test_an_unreachable_database_makes_it_not_ready() -> None:
    url = f"postgresql://postgres:hunter2@127.0.0.1:{closed_port()}/threadline"
    async with app_on(database_url=url) as app:
        response = await app.get("/readyz")
    reason = assert_not_ready(response, "database")
    assert "OperationalError" in reason
    assert checks_of(response.json())["migrations"]["reason"] == (
        "not checked: the database did not answer"
    )
    assert "hunter2" not in response.text and "127.0.0.1" not in response.text


async def test_readiness_is_described_in_the_openapi_and_metrics_is_not(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    readyz = document["paths"]["/readyz"]["get"]["responses"]
    assert readyz["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Readiness"
    }
    not_ready = readyz["503"]["content"]["application/problem+json"]["schema"]
    assert not_ready["properties"]["checks"]["items"] == {
        "$ref": "#/components/schemas/ReadinessCheck"
    }
    assert "ReadinessCheck" in document["components"]["schemas"]
    assert "/healthz" in document["paths"]
    assert "/metrics" not in document["paths"]
