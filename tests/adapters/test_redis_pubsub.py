"""Scale-out: two API processes share PostgreSQL and Redis; events fan out between them.

Runs against the real Redis at THREADLINE_TEST_REDIS_URL (default redis://127.0.0.1:6379/0);
skipped on a laptop without it, a failure under CI.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest

from tests.conftest import make_workspace
from tests.support.server import (
    events_until_message,
    message_texts,
    post_inbound,
    running_server,
    subscribed,
    token_of,
    wait_ready,
)
from threadline.adapters.clock import ManualClock
from threadline.bootstrap import Runtime, build_runtime
from threadline.config import Settings
from threadline.entrypoints.api.app import create_app

pytestmark = [pytest.mark.anyio, pytest.mark.postgres_only]


def start_workspace_ids_at_random(database_url: str) -> None:
    """Pub/sub topics are named by workspace id and Redis is shared by every test run on this
    machine, so this run's workspaces get ids no parallel run is likely to use."""
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('workspaces', 'id'), %s)",
            (random.randrange(10**9, 10**12),),
        )


@pytest.fixture
async def two_processes(
    database_url: str, redis_url: str, clock: ManualClock
) -> AsyncIterator[tuple[Runtime, Runtime]]:
    start_workspace_ids_at_random(database_url)
    settings = Settings(database_url=database_url, redis_url=redis_url, run_outbound_worker=False)
    first, second = build_runtime(settings, clock=clock), build_runtime(settings, clock=clock)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_an_event_committed_in_one_process_reaches_a_subscriber_of_another(
    two_processes: tuple[Runtime, Runtime],
) -> None:
    writer, streamer = two_processes
    workspace = await make_workspace(writer, f"acme-{uuid.uuid4().hex[:8]}")
    transport = httpx.ASGITransport(app=create_app(runtime=writer))
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://writer.test") as writer_client,
        running_server(streamer) as server,
    ):
        token = await token_of(writer_client, workspace.slug, "agent")
        async with subscribed(server, token=token) as ws:
            ready_seq, _ = await wait_ready(ws)
            received = await post_inbound(writer_client, workspace, "Hello from process A")
            frames = await events_until_message(ws, "Hello from process A")

    assert message_texts(frames) == ["Hello from process A"]
    assert frames[-1]["conversation_id"] == received["conversation_id"]
    assert [f["seq"] for f in frames] == list(range(ready_seq + 1, ready_seq + 1 + len(frames)))
