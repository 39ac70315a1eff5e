"""GET /metrics: Prometheus text with requests by route template, inbound messages by channel,
outbound jobs by state, queue depth, worker lag, WebSocket connections and pool use.

Counters belong to the process (the test process here), so the tests compare before and after;
the database-derived gauges are read from the test's own database at each scrape.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text, update

from tests.conftest import WorkspaceFixture, customer_writes, login
from tests.entrypoints.api.test_readiness import app_on, closed_port
from tests.entrypoints.widget.test_widget_socket import until, visitor, widget_socket
from tests.support.conversations_api import assign_to
from tests.support.server import subscribed, token_of, wait_ready
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.config import Settings
from threadline.core.timers import schedule_timer

pytestmark = pytest.mark.anyio

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient, **headers: str) -> Samples:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value; 0 for a series not shown (yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def label_values(samples: Samples, name: str, label: str) -> set[str]:
    return {dict(labels)[label] for metric, labels in samples if metric == name}


async def reply(client: httpx.AsyncClient, agent: dict[str, str], conversation_id: int) -> None:
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/replies", json={"text": "On it."}, headers=agent
    )
    assert response.status_code == 201, response.text


async def test_requests_are_counted_by_route_template_and_status_never_by_raw_path(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    admin = await login(client, workspace.slug, "admin")
    route = "/api/v1/customers/{customer_id}"
    before = await scrape(client)
    for customer_id in (987654, 987655, 987656):
        assert (
            await client.get(f"/api/v1/customers/{customer_id}", headers=admin)
        ).status_code == 404
    assert (await client.get("/no/such/page/424242")).status_code == 404
    assert (await client.request("BREW", "/healthz")).status_code == 405
    after = await scrape(client)

    requests = "threadline_http_requests_total"
    counted = value(after, requests, method="GET", route=route, status="404")
    assert counted - value(before, requests, method="GET", route=route, status="404") == 3
    timed = "threadline_http_request_duration_seconds_count"
    assert (
        value(after, timed, method="GET", route=route)
        - value(before, timed, method="GET", route=route)
        == 3
    )
    assert value(after, requests, method="GET", route="unmatched", status="404") >= 1
    # A method nobody defined is "other": clients cannot grow the label set.
    assert value(after, requests, method="other", route="/healthz", status="405") >= 1
    routes = label_values(after, requests, "route")
    assert not [r for r in routes if "98765" in r or "424242" in r], routes
    assert label_values(after, requests, "method") <= {
        "GET",
        "HEAD",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
        "OPTIONS",
        "other",
    }


async def test_inbound_messages_are_counted_by_channel_once_stored(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    counter = "threadline_inbound_messages_total"
    before = await scrape(client)
    await customer_writes(
        client, workspace, "sms", "phone", "+48600100200", "Hi", provider_message_id="SM1"
    )
    # The provider delivers the same message again: found, not stored twice, not counted.
    await customer_writes(
        client, workspace, "sms", "phone", "+48600100200", "Hi", provider_message_id="SM1"
    )
    await customer_writes(client, workspace, "email", "email", "ola@example.com", "Hello")
    after = await scrape(client)
    assert value(after, counter, channel="sms") - value(before, counter, channel="sms") == 1
    assert value(after, counter, channel="email") - value(before, counter, channel="email") == 1
    assert value(after, counter, channel="telegram") == value(before, counter, channel="telegram")


async def test_outbound_jobs_are_counted_by_whatever_states_the_database_holds(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    agent = await login(client, workspace.slug, "agent")
    first = await customer_writes(client, workspace, "email", "email", "a@example.com", "One")
    second = await customer_writes(client, workspace, "email", "email", "b@example.com", "Two")
    await reply(client, agent, first["conversation_id"])
    await reply(client, agent, second["conversation_id"])
    jobs = "threadline_outbound_jobs"
    assert value(await scrape(client), jobs, state="pending") == 2

    # A state this code does not name (another worker's, say) is counted all the same.
    async with runtime.sessionmaker() as session:
        job_id = (await session.execute(text("SELECT min(id) FROM outbound_jobs"))).scalar_one()
        await session.execute(
            update(t.OutboundJob).where(t.OutboundJob.id == job_id).values(status="unconfirmed")
        )
        await session.commit()
    held = await scrape(client)
    assert value(held, jobs, state="pending") == 1
    assert value(held, jobs, state="unconfirmed") == 1

    async with runtime.sessionmaker() as session:
        await session.execute(update(t.OutboundJob).values(status="done"))
        await session.commit()
    settled = await scrape(client)
    # States that emptied read 0 rather than keeping their last value.
    assert value(settled, jobs, state="done") == 2
    assert (settled[(jobs, frozenset({("state", "pending")}))]) == 0
    assert (settled[(jobs, frozenset({("state", "unconfirmed")}))]) == 0


async def test_queue_depth_counts_open_unassigned_conversations_by_channel(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    await customer_writes(client, workspace, "sms", "phone", "+48600100201", "Anyone?")
    chat = await customer_writes(client, workspace, "email", "email", "c@example.com", "Help")
    await customer_writes(client, workspace, "email", "email", "d@example.com", "Help too")
    depth = "threadline_queue_depth"
    waiting = await scrape(client)
    assert value(waiting, depth, channel="sms") == 1
    assert value(waiting, depth, channel="email") == 2

    admin = await login(client, workspace.slug, "admin")
    await assign_to(client, admin, chat["conversation_id"], workspace.agent_id)
    assert value(await scrape(client), depth, channel="email") == 1


async def test_worker_lag_is_the_age_of_the_oldest_due_job_and_timer(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    lag = "threadline_worker_lag_seconds"
    idle = await scrape(client)
    assert value(idle, lag, queue="outbound") == 0 and value(idle, lag, queue="timers") == 0

    agent = await login(client, workspace.slug, "agent")
    written = await customer_writes(client, workspace, "email", "email", "e@example.com", "Hi")
    await reply(client, agent, written["conversation_id"])  # due now; no worker runs here
    async with runtime.uow() as uow:
        await schedule_timer(
            uow,
            workspace.id,
            kind="test.nothing",
            key="ops-lag",
            fire_at=clock.now() + timedelta(seconds=10),
            payload={},
        )
        await uow.commit()
    clock.advance(timedelta(seconds=42))
    behind = await scrape(client)
    assert value(behind, lag, queue="outbound") == pytest.approx(42, abs=0.01)
    assert value(behind, lag, queue="timers") == pytest.approx(32, abs=0.01)


async def test_open_sockets_are_counted_while_they_are_open(
    server: str, client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    sockets = "threadline_websocket_connections"
    before = await scrape(client)
    token = await token_of(client, workspace.slug, "agent")
    chat = await visitor(client, runtime, workspace, "Hello from the widget")
    async with (
        subscribed(server, token=token) as agent_socket,
        widget_socket(server, chat["token"]) as visitor_socket,
    ):
        await wait_ready(agent_socket)
        await until(visitor_socket, "ready")
        during = await scrape(client)
    for name in ("agent_events", "widget_visitor"):
        assert value(during, sockets, socket=name) == value(before, sockets, socket=name) + 1
    # Closed by the client: the server notices and counts them out.
    for _ in range(100):
        after = await scrape(client)
        if all(
            value(after, sockets, socket=name) == value(before, sockets, socket=name)
            for name in ("agent_events", "widget_visitor")
        ):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"sockets still counted after closing: {after}")


async def test_pool_use_shows_connections_checked_out(
    client: httpx.AsyncClient, runtime: Runtime, settings: Settings
) -> None:
    idle = await scrape(client)
    assert value(idle, "threadline_db_pool_checked_out") == 0
    if runtime.engine.dialect.name == "postgresql":
        assert value(idle, "threadline_db_pool_size") == settings.database_pool_size
    async with runtime.engine.connect() as held:
        # Checked out without a transaction: on SQLite every transaction takes the write
        # lock (BEGIN IMMEDIATE), and the scrape's own read would wait it out.
        await held.get_raw_connection()
        busy = await scrape(client)
    assert value(busy, "threadline_db_pool_checked_out") == 1
    assert value(await scrape(client), "threadline_db_pool_checked_out") == 0


async def test_a_metrics_token_is_required_when_the_installation_sets_one(
    database_url: str,
) -> None:
    async with app_on(database_url=database_url, metrics_token="scrape-me-please") as app:
        for authorization in (None, "Bearer wrong-token", "Basic c2NyYXBlLW1lLXBsZWFzZQ=="):
            headers = {"Authorization": authorization} if authorization else {}
            refused = await app.get("/metrics", headers=headers)
            assert refused.status_code == 401, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert "scrape-me-please" not in refused.text
        # Bytes that are not ASCII are a wrong token, not a server error.
        odd = await app.get("/metrics", headers={b"Authorization": "Bearer é€".encode()})
        assert odd.status_code == 401
        samples = await scrape(app, Authorization="Bearer scrape-me-please")
    assert value(samples, "threadline_database_up") == 1


async def test_metrics_still_answer_when_the_database_does_not() -> None:
    async with app_on(database_url=f"postgresql://postgres@127.0.0.1:{closed_port()}/none") as app:
        samples = await scrape(app)
    assert value(samples, "threadline_database_up") == 0
    assert value(samples, "process_resident_memory_bytes") > 0
