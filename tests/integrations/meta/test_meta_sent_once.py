"""A WhatsApp or Messenger reply whose send Meta took but did not answer in time is never
sent again: it waits for Meta's status webhook, which names it by the key we sent along,
or fails with a reason an agent can act on when none comes in time.

The Graph API stand-in (tests/support/meta_graph.py) takes the message and then answers
only after our timeout, or drops the connection; the webhooks are Meta's own shapes
(tests/integrations/meta/fixtures/whatsapp/status_*.json, messenger/echo.json) carrying what Meta echoes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import WorkspaceFixture, login
from tests.support.meta import MetaInboxes, configure_meta, fixture_bytes, messages, post_webhook
from tests.support.meta_graph import GraphServer, running_graph
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.delivery.outbound import DeliveryPolicy, DeliveryReport, deliver_due
from threadline.integrations.senders import build_outbound_adapters

pytestmark = pytest.mark.anyio

POLICY = DeliveryPolicy(
    lease=timedelta(seconds=60),
    max_attempts=3,
    backoff_seconds=10,
    report_wait=timedelta(minutes=10),
)
WAMID = "wamid.HBgLNDg2MDEyMzQ1NjcVAgARGBJBQkNERUYwMTIzNDU2Nzg5AA=="
MID = "m_OUTBOUND0002LostAnswerAbCdEfGhIjKlMnOpQrStUvWxYz01"
PSID = "6728419073845123"


@pytest.fixture
def graph() -> Iterator[GraphServer]:
    with running_graph() as server:
        server.hang_seconds = 2.0
        yield server


@pytest.fixture
async def meta(
    runtime: Runtime, workspace: WorkspaceFixture, graph: GraphServer, tmp_path: Path
) -> MetaInboxes:
    inboxes = await configure_meta(runtime, workspace, graph, tmp_path)
    # Meta "answers after our timeout": the stand-in holds its answer for 2 s.
    runtime.settings.outbound_timeout_seconds = 0.3
    return inboxes


async def deliver(runtime: Runtime) -> DeliveryReport:
    return await deliver_due(
        runtime.uow, build_outbound_adapters(runtime.settings), POLICY, runtime.clock.now()
    )


async def agent_replies(
    client: httpx.AsyncClient, runtime: Runtime, ws: WorkspaceFixture, channel: str, inbox: int
) -> tuple[int, dict[str, str]]:
    raw = fixture_bytes(channel, "text.json")
    assert (await post_webhook(client, channel, inbox, raw)).status_code == 200
    [inbound] = await messages(runtime, ws.id)
    agent = await login(client, ws.slug, "agent")
    reply = await client.post(
        f"/api/v1/conversations/{inbound.conversation_id}/replies",
        headers=agent,
        json={"text": "Wysyłamy nowy czajnik."},
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["channel"] == channel
    return int(reply.json()["id"]), agent


async def seen(client: httpx.AsyncClient, agent: dict[str, str], message_id: int) -> Any:
    return (await client.get(f"/api/v1/messages/{message_id}", headers=agent)).json()


async def job_status(runtime: Runtime, message_id: int) -> str:
    async with runtime.sessionmaker() as session:
        status: str = (
            await session.execute(
                select(t.OutboundJob.status).where(t.OutboundJob.message_id == message_id)
            )
        ).scalar_one()
    return status


def whatsapp_status(fixture: str, wamid: str, callback_data: str | None) -> bytes:
    """Meta's status webhook for our message, with what Meta echoes of our send."""
    payload = json.loads(fixture_bytes("whatsapp", fixture))
    [status] = payload["entry"][0]["changes"][0]["value"]["statuses"]
    status["id"] = wamid
    if callback_data is not None:
        status["biz_opaque_callback_data"] = callback_data
    return json.dumps(payload).encode()


@pytest.mark.parametrize("failure", ["hang", "drop"])
async def test_a_whatsapp_send_answered_too_late_is_not_resent_and_a_status_webhook_settles_it(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    meta: MetaInboxes,
    graph: GraphServer,
    clock: ManualClock,
    failure: str,
) -> None:
    message_id, agent = await agent_replies(client, runtime, workspace, "whatsapp", meta.whatsapp)
    graph.next_ids.append(WAMID)
    graph.misbehave_next(failure)

    assert (await deliver(runtime)).unconfirmed == 1
    shown = await seen(client, agent, message_id)
    assert shown["delivery_status"] == "queued"
    assert await job_status(runtime, message_id) == "unconfirmed"

    # Later rounds, before the deadline, leave it alone: no second send.
    clock.advance(timedelta(minutes=5))
    assert (await deliver(runtime)).claimed == 0
    [(sent_body, given_id)] = graph.accepted
    assert given_id == WAMID and len(graph.sends()) == 1

    # Meta's "sent" webhook names the message by the key we sent along.
    raw = whatsapp_status("status_sent.json", WAMID, sent_body["biz_opaque_callback_data"])
    response = await post_webhook(client, "whatsapp", meta.whatsapp, raw)
    assert response.status_code == 200, response.text
    assert response.json()["statuses_applied"] == 1

    shown = await seen(client, agent, message_id)
    assert (shown["delivery_status"], shown["provider_message_id"]) == ("sent", WAMID)
    assert await job_status(runtime, message_id) == "done"
    # From now on it is known by its wamid, as any reply.
    raw = whatsapp_status("status_delivered.json", WAMID, None)
    assert (await post_webhook(client, "whatsapp", meta.whatsapp, raw)).status_code == 200
    assert (await seen(client, agent, message_id))["delivery_status"] == "delivered"

    clock.advance(timedelta(hours=1))
    assert (await deliver(runtime)).claimed == 0
    assert len(graph.sends()) == 1


async def test_a_whatsapp_send_nobody_confirms_fails_at_the_deadline_with_a_reason(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    meta: MetaInboxes,
    graph: GraphServer,
    clock: ManualClock,
) -> None:
    message_id, agent = await agent_replies(client, runtime, workspace, "whatsapp", meta.whatsapp)
    graph.next_ids.append(WAMID)
    graph.misbehave_next("hang")
    assert (await deliver(runtime)).unconfirmed == 1

    clock.advance(POLICY.report_wait + timedelta(seconds=1))
    report = await deliver(runtime)

    assert report.failed == 1
    assert len(graph.sends()) == 1, "WhatsApp was sent the reply twice"
    shown = await seen(client, agent, message_id)
    assert shown["delivery_status"] == "failed"
    reason = shown["failure_reason"]
    assert "not confirmed" in reason and "10 min" in reason
    assert "may or may not have reached the customer" in reason
    assert await job_status(runtime, message_id) == "failed"

    # A report that still comes shows it did go out after all.
    [(sent_body, _)] = graph.accepted
    raw = whatsapp_status("status_delivered.json", WAMID, sent_body["biz_opaque_callback_data"])
    assert (await post_webhook(client, "whatsapp", meta.whatsapp, raw)).status_code == 200
    shown = await seen(client, agent, message_id)
    assert (shown["delivery_status"], shown["failure_reason"]) == ("delivered", None)
    assert shown["provider_message_id"] == WAMID


async def test_a_whatsapp_send_whose_worker_was_overtaken_is_not_sent_twice(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    meta: MetaInboxes,
    graph: GraphServer,
    clock: ManualClock,
) -> None:
    message_id, agent = await agent_replies(client, runtime, workspace, "whatsapp", meta.whatsapp)
    runtime.settings.outbound_timeout_seconds = 10
    graph.next_ids.append(WAMID)
    graph.misbehave_next("hang")

    # A worker hangs on Meta past its lease, as one killed mid-send would leave the job.
    stuck = asyncio.create_task(deliver(runtime))
    for _ in range(200):
        if graph.accepted:
            break
        await asyncio.sleep(0.01)
    clock.advance(POLICY.lease + timedelta(seconds=1))
    second = await deliver(runtime)
    assert (second.claimed, second.unconfirmed) == (1, 1)
    assert len(graph.sends()) == 1

    graph.release.set()  # Meta's answer reaches the first worker after all
    first = await stuck
    assert first.sent == 1
    shown = await seen(client, agent, message_id)
    assert (shown["delivery_status"], shown["provider_message_id"]) == ("sent", WAMID)
    clock.advance(POLICY.report_wait * 2)
    assert (await deliver(runtime)).claimed == 0
    assert len(graph.sends()) == 1


async def test_a_messenger_send_answered_too_late_is_settled_by_its_echo(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    meta: MetaInboxes,
    graph: GraphServer,
    clock: ManualClock,
) -> None:
    message_id, agent = await agent_replies(client, runtime, workspace, "messenger", meta.messenger)
    graph.next_ids.append(MID)
    graph.misbehave_next("hang")
    assert (await deliver(runtime)).unconfirmed == 1
    [(sent_body, given_id)] = graph.accepted
    assert given_id == MID

    # Meta's message_echoes webhook: our page's message, with the metadata we sent.
    echo = json.loads(fixture_bytes("messenger", "echo.json"))
    event = echo["entry"][0]["messaging"][0]
    event["recipient"]["id"] = PSID
    event["message"].update(
        mid=MID, text=sent_body["message"]["text"], metadata=sent_body["message"]["metadata"]
    )
    response = await post_webhook(client, "messenger", meta.messenger, json.dumps(echo).encode())
    assert response.status_code == 200, response.text

    shown = await seen(client, agent, message_id)
    assert (shown["delivery_status"], shown["provider_message_id"]) == ("sent", MID)
    assert await job_status(runtime, message_id) == "done"
    # The echo is not a customer message.
    assert len(await messages(runtime, workspace.id)) == 2
    clock.advance(timedelta(hours=1))
    assert (await deliver(runtime)).claimed == 0
    assert len(graph.sends()) == 1
