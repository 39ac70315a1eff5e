"""Scale-out in a real browser: two `threadline serve` processes share one PostgreSQL database
and one Redis. The agent's page is open on server B; a customer message received by server A
shows up in that page live, without a reload, with the new-contact pop-up.

PostgreSQL and Redis only: skipped on a laptop without them, a failure under CI (CI=true).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.conftest import _truncate_postgres, make_workspace
from tests.support.browser import (
    LIVE_MS,
    SLUG,
    World,
    browser,  # noqa: F401  (a fixture)
    free_port,
    opened_context,
    screenshot,
    sign_in,
    watch,
)
from tests.support.processes import stop
from threadline.bootstrap import build_runtime
from threadline.config import Settings

pytestmark = pytest.mark.anyio

START_SECONDS = 20


@contextmanager
def serve_process(env: dict[str, str], log: Path) -> Iterator[str]:
    """`threadline serve` on a free port as its own process; yields its base URL."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("threadline")), "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(process)


async def wait_until_up(base_url: str, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(f"{base_url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    pytest.fail(f"{base_url} did not come up in {START_SECONDS} s:\n{read_log(log)}")


def read_log(log: Path) -> str:
    return log.read_text(errors="replace")


@pytest.fixture
async def two_servers(
    postgres_database: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[World, str]]:
    """Server A and server B on one database and one Redis, with the workspace seeded;
    yields the world as seen through B, and A's base URL."""
    _truncate_postgres(postgres_database)
    env = {
        **os.environ,
        "THREADLINE_DATABASE_URL": postgres_database,
        "THREADLINE_REDIS_URL": redis_url,
        # Tokens and cookies signed by one process must be accepted by the other.
        "THREADLINE_SECRET_KEY": secrets.token_urlsafe(32),
        "THREADLINE_RUN_OUTBOUND_WORKER": "false",
        "THREADLINE_IMAP_POLL_ENABLED": "false",
        "THREADLINE_SMTP_ENABLED": "false",
    }
    log_a, log_b = tmp_path / "server-a.log", tmp_path / "server-b.log"
    with serve_process(env, log_a) as server_a, serve_process(env, log_b) as server_b:
        # The workspace is seeded while the two processes start up.
        runtime = build_runtime(Settings(database_url=postgres_database, redis_url=""))
        try:
            ws = await make_workspace(runtime, SLUG)
            await asyncio.gather(wait_until_up(server_a, log_a), wait_until_up(server_b, log_b))
            yield World(server_b, runtime, ws, 0, 0, "", ""), server_a
        finally:
            await runtime.close()


async def test_a_message_received_by_server_a_appears_live_in_the_agent_page_on_server_b(
    browser: Browser,  # noqa: F811
    two_servers: tuple[World, str],
) -> None:
    on_b, server_a = two_servers
    async with opened_context(browser) as context:
        page = await context.new_page()
        seen = watch(page)
        await sign_in(page, on_b)
        assert page.url.startswith(on_b.base_url)
        rows = page.locator("[data-testid=conversation-row]")
        assert await rows.count() == 0
        # Marks this very document: a reload or navigation would lose it.
        await page.evaluate("() => { window.__same_document = true }")

        async with httpx.AsyncClient(timeout=5) as http:
            response = await http.post(
                f"{server_a}/api/v1/inbound/messages",
                headers={"X-API-Key": on_b.ws.api_key},
                json={
                    "inbox_id": on_b.ws.inboxes["email"],
                    "channel": "email",
                    "sender": {"kind": "email", "value": "marta@example.com"},
                    "sender_name": "Marta Nowak",
                    "text": "Is my washing machine delivered on Friday?",
                },
            )
        assert response.status_code == 201, response.text
        conversation_id = response.json()["conversation_id"]

        row = page.locator(
            f"[data-testid=conversation-row][data-conversation-id='{conversation_id}']"
        )
        await row.wait_for(state="visible", timeout=LIVE_MS)
        assert await page.evaluate("() => window.__same_document === true"), "the page reloaded"
        assert "Marta Nowak" in await row.inner_text()
        # A first contact: the pop-up that opens the customer card, on B too.
        popup = page.locator("[data-testid=new-contact-popup]")
        await expect(popup).to_contain_text("Marta Nowak", timeout=LIVE_MS)
        await screenshot(page, "two-servers-agent-on-b.png")
        assert seen.errors == []
