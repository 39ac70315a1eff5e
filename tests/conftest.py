"""Test harness: every database test runs on real SQLite and real PostgreSQL.

PostgreSQL is skipped only on a laptop without it; under CI (CI=true) its absence fails.
"""

from __future__ import annotations

import os

# Before threadline is imported (and inherited by the servers and workers tests start): real
# argon2id at a trivial cost, so thousands of sign-ins do not eat the suite's time.
os.environ["THREADLINE_INSECURE_FAST_PASSWORD_HASHING_FOR_TESTS"] = "1"
# The product refuses outbound connections to internal addresses (domain/security/egress.py); the
# fake providers, receivers and mail servers of these tests all listen on loopback, so the
# tests' installation allows loopback, and only loopback. Tests of the closed default build
# their Settings with outbound_allowed_networks=[].
os.environ["THREADLINE_OUTBOUND_ALLOWED_NETWORKS"] = "127.0.0.0/8,::1/128"
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis

from tests.support.email_smtp import running_smtp_server
from threadline.adapters.clock import ManualClock
from threadline.adapters.db.migrate import upgrade_to_head
from threadline.adapters.db.tables import Base
from threadline.bootstrap import Runtime, build_runtime
from threadline.config import Settings
from threadline.domain.channels import Channel
from threadline.domain.security.access import Role
from threadline.entrypoints.api.app import create_app
from threadline.entrypoints.logging_setup import configure_logging
from threadline.entrypoints.smtp_server import SmtpServerHandle
from threadline.workspace.auth import create_api_key
from threadline.workspace.create import create_agent, create_inbox, create_workspace

# Warnings and worse from the test process itself, as a quiet server would log: unconfigured,
# structlog prints every line, debug included, over the test output. Tests that read log
# lines capture them themselves; servers they start as processes configure their own.
configure_logging(Settings(log_level="WARNING", secret_key="tests-only"))

PG_ADMIN_DSN = os.environ.get("THREADLINE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PASSWORD = "correct horse battery staple"
LOOPBACK_NETWORKS = os.environ["THREADLINE_OUTBOUND_ALLOWED_NETWORKS"].split(",")


# `make test` runs the suite in two parallel workers (pytest-xdist), then these modules on their
# own: they start processes of their own (and would starve on 2 cores), hold a test to a
# real-time deadline, share one Redis whose topics are named by workspace ids that each
# worker's database hands out afresh, or (the schemathesis run) serve a seeded database of
# their own from a thread for a minute.
SERIAL_MODULES = {
    "test_routing_concurrency",
    "test_outbound_kill9",
    "test_sms_kill9",
    "test_timers",
    "test_cli",
    "test_request_logging",
    "test_redis_pubsub",
    "test_web_live",
    "test_widget_browser",
    "test_browser_chat",
    "test_browser_two_servers",
    "test_browser_widget_reconnect",
    "test_browser_xss",
    "test_browser_api_docs",
    "test_browser_load_earlier",
    "test_api_fuzz",
}


def pytest_configure(config: pytest.Config) -> None:
    """Every name in SERIAL_MODULES names exactly one test module, so a module moved or renamed
    cannot silently lose its place among the serial ones (or mark a namesake instead)."""
    modules_by_stem: dict[str, list[Path]] = {}
    for path in Path(__file__).parent.rglob("test_*.py"):
        modules_by_stem.setdefault(path.stem, []).append(path)
    unknown = sorted(name for name in SERIAL_MODULES if name not in modules_by_stem)
    ambiguous = sorted(name for name in SERIAL_MODULES if len(modules_by_stem.get(name, [])) > 1)
    if unknown or ambiguous:
        raise pytest.UsageError(
            "tests/conftest.py SERIAL_MODULES must each name one test module under tests/; "
            f"no such module: {unknown}, more than one: {ambiguous}"
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.stem in SERIAL_MODULES:
            item.add_marker(pytest.mark.serial)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def _pg_reachable() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade_to_head(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of our own for this test run, migrated once, dropped at the end."""
    if not _pg_reachable():
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but {PG_ADMIN_DSN} is unreachable")
        pytest.skip("PostgreSQL is not running on this machine")
    name = f"threadline_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    url = f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    upgrade_to_head(url)
    yield url
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


REDIS_URL = os.environ.get("THREADLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url() -> str:
    """A reachable Redis: skipped on a laptop without one, a failure in CI."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.ConnectionError:
        if IN_CI:
            pytest.fail(f"Redis is required in CI but {REDIS_URL} is unreachable")
        pytest.skip("Redis is not running on this machine")
    return REDIS_URL


def _truncate_postgres(url: str) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "threadline.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    _truncate_postgres(url)
    return url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


def settings_for(database_url: str, **overrides: Any) -> Settings:
    """The tests' installation: no Redis, no outbound worker, outbound to loopback only."""
    return Settings(
        database_url=database_url,
        redis_url="",
        run_outbound_worker=False,
        outbound_allowed_networks=LOOPBACK_NETWORKS,
        **overrides,
    )


def emptied_postgres_runtime(url: str) -> Runtime:
    """A runtime on the PostgreSQL test database, every table emptied first: for tests whose
    worker processes share that database (they close it themselves)."""
    _truncate_postgres(url)
    return build_runtime(settings_for(url))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(database_url)


@pytest.fixture
async def runtime(settings: Settings, clock: ManualClock) -> AsyncIterator[Runtime]:
    built = build_runtime(settings, clock=clock)
    yield built
    await built.close()


@pytest.fixture
async def smtp(runtime: Runtime, tmp_path: Path) -> AsyncIterator[SmtpServerHandle]:
    """The built-in SMTP server of `runtime`, on a free port of 127.0.0.1."""
    async with running_smtp_server(runtime, tmp_path) as handle:
        yield handle


@pytest.fixture
async def server(runtime: Runtime) -> AsyncIterator[str]:
    """The API of `runtime` served by uvicorn on a free port: its "127.0.0.1:<port>"."""
    # Imported here: tests.support.server imports this module.
    from tests.support.server import running_server

    async with running_server(runtime) as address:
        yield address


@dataclass
class WorkspaceFixture:
    """A seeded workspace: its admin, an agent, inboxes for several channels and an API key."""

    id: int
    slug: str
    admin_id: int
    agent_id: int
    supervisor_id: int
    inboxes: dict[str, int]
    api_key: str


async def make_workspace(runtime: Runtime, slug: str, region: str = "PL") -> WorkspaceFixture:
    async with runtime.uow() as uow:
        ws = await create_workspace(uow, name=slug.title(), slug=slug, default_region=region)
        people = {}
        for who, name, role in (
            ("admin", "Ada Admin", Role.ADMIN),
            ("agent", "Olek Agent", Role.AGENT),
            ("super", "Sue Supervisor", Role.SUPERVISOR),
        ):
            person = await create_agent(
                uow,
                ws.id,
                email=f"{who}@{slug}.example.com",
                name=name,
                role=role,
                password=PASSWORD,
            )
            people[who] = person.id
        inboxes = {}
        for channel in (
            Channel.API,
            Channel.EMAIL,
            Channel.WEB_CHAT,
            Channel.SMS,
            Channel.VOICE,
            Channel.WHATSAPP,
        ):
            inbox = await create_inbox(uow, ws.id, name=f"{channel.value} inbox", channel=channel)
            inboxes[channel.value] = inbox.id
        _, key = await create_api_key(uow.session, ws.id, "tests", uow.clock.now())
        await uow.commit()
        return WorkspaceFixture(
            ws.id, slug, people["admin"], people["agent"], people["super"], inboxes, key
        )


@pytest.fixture
async def workspace(runtime: Runtime) -> WorkspaceFixture:
    return await make_workspace(runtime, "acme")


@pytest.fixture
async def other_workspace(runtime: Runtime) -> WorkspaceFixture:
    return await make_workspace(runtime, "globex")


@asynccontextmanager
async def app_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app of `runtime`, with a cookie jar of its own."""
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://threadline.test") as c:
        yield c


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(runtime) as c:
        yield c


@pytest.fixture
async def browser(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """An agent's browser: a second client, its cookies apart from `client`'s. (The tests under
    tests/browser import a real browser of this name instead.)"""
    async with app_client(runtime) as c:
        yield c


async def login(client: httpx.AsyncClient, slug: str, who: str) -> dict[str, str]:
    """Authorization headers for the `who` (admin, agent, super) of workspace `slug`."""
    response = await client.post(
        "/api/v1/auth/login",
        json={"workspace": slug, "email": f"{who}@{slug}.example.com", "password": PASSWORD},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def customer_writes(
    client: httpx.AsyncClient,
    ws: WorkspaceFixture,
    channel: str,
    kind: str,
    value: str,
    text: str,
    **extra: object,
) -> dict[str, Any]:
    """A customer message arriving through the API channel as `channel`, stored (201)."""
    response = await client.post(
        "/api/v1/inbound/messages",
        headers={"X-API-Key": ws.api_key},
        json={
            "inbox_id": ws.inboxes[channel],
            "channel": channel,
            "sender": {"kind": kind, "value": value},
            "text": text,
            **extra,
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
