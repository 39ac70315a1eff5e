"""Outbound delivery: a reply reaches the app behind an API inbox once, signed, and its
status follows it (queued -> sent -> delivered), through retries and refusals."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from tests.conftest import WorkspaceFixture, customer_writes, login
from tests.support.api_v1 import events_of
from tests.support.delivery import POLICY, agent_replies, deliver
from tests.support.receiver import Answer, Receiver
from threadline.adapters.channels.base import OutboundAdapters
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.delivery.outbound import deliver_due
from threadline.entrypoints.outbound_worker import run_outbound_worker
from threadline.integrations.api.sender import sign, verify_signature

pytestmark = pytest.mark.anyio


async def inbound(
    client: httpx.AsyncClient, ws: WorkspaceFixture, channel: str, kind: str, value: str
) -> int:
    written = await customer_writes(client, ws, channel, kind, value, "Hello, where is my order?")
    return int(written["conversation_id"])


async def point_api_inbox_at(runtime: Runtime, ws: WorkspaceFixture, url: str | None) -> str:
    """Set the API inbox's webhook_url; returns its signing secret for the receiver."""
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(t.Inbox)
            .where(t.Inbox.id == ws.inboxes["api"])
            .values(settings={"webhook_url": url} if url else {})
        )
        await session.commit()
        inbox = await session.get(t.Inbox, ws.inboxes["api"])
        assert inbox is not None and inbox.secret
        return inbox.secret


async def message(runtime: Runtime, message_id: int) -> t.Message:
    async with runtime.sessionmaker() as session:
        row = await session.get(t.Message, message_id)
        assert row is not None
        return row


async def statuses_announced(runtime: Runtime, ws: WorkspaceFixture, message_id: int) -> list[str]:
    """delivery_status of every message.updated event agents were sent about this message."""
    payloads = await events_of(runtime, ws.id, "message.updated")
    return [p["message"]["delivery_status"] for p in payloads if p["message"]["id"] == message_id]


@pytest.fixture
async def app_conversation(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture, receiver: Receiver
) -> int:
    """A conversation a user of the app behind the API inbox started; the inbox's webhook is
    the receiver."""
    receiver.secret = await point_api_inbox_at(runtime, workspace, receiver.url)
    return await inbound(client, workspace, "api", "external", "app-user-42")


async def test_reply_reaches_the_app_signed_and_is_then_reported_delivered(
    runtime: Runtime,
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    receiver: Receiver,
    app_conversation: int,
) -> None:
    message_id = await agent_replies(runtime, workspace, app_conversation, "It ships today.")
    assert (await message(runtime, message_id)).delivery_status == "queued"

    report = await deliver(runtime)

    assert report.sent == 1
    [got] = receiver.requests
    assert got.signature_ok and got.event == "message.created"
    assert got.body["message"]["id"] == message_id
    assert got.body["message"]["text"] == "It ships today."
    assert got.body["author"]["name"] == "Olek Agent"
    assert got.body["recipient"] == {"kind": "external", "value": "app-user-42"}
    assert got.body["conversation_id"] == app_conversation
    sent = await message(runtime, message_id)
    assert sent.delivery_status == "sent"
    assert sent.provider_message_id == f"app-{got.key}"
    assert await statuses_announced(runtime, workspace, message_id) == ["sent"]
    assert (await deliver(runtime)).claimed == 0

    response = await client.post(
        "/api/v1/inbound/status",
        headers={"X-API-Key": workspace.api_key},
        json={"message_id": message_id, "status": "delivered"},
    )
    assert response.status_code == 200, response.text
    assert (await message(runtime, message_id)).delivery_status == "delivered"
    # What the agent sees through the API.
    agent = await login(client, workspace.slug, "agent")
    seen = await client.get(f"/api/v1/messages/{message_id}", headers=agent)
    assert seen.status_code == 200, seen.text
    assert seen.json()["delivery_status"] == "delivered"
    assert seen.json()["provider_message_id"] == f"app-{got.key}"


async def test_server_errors_are_retried_with_backoff_and_delivered_once(
    runtime: Runtime,
    workspace: WorkspaceFixture,
    receiver: Receiver,
    clock: ManualClock,
    app_conversation: int,
) -> None:
    receiver.answer_next(Answer(500, "busy"), Answer(503, "busy"))
    message_id = await agent_replies(runtime, workspace, app_conversation, "Refund issued.")

    assert (await deliver(runtime)).retrying == 1
    retrying = await message(runtime, message_id)
    assert retrying.delivery_status == "queued"
    assert "HTTP 500" in retrying.meta["last_delivery_error"]
    clock.advance(timedelta(seconds=9))
    assert (await deliver(runtime)).claimed == 0  # first backoff is 10 s
    clock.advance(timedelta(seconds=1))
    assert (await deliver(runtime)).retrying == 1
    clock.advance(timedelta(seconds=19))
    assert (await deliver(runtime)).claimed == 0  # then 20 s
    clock.advance(timedelta(seconds=1))
    assert (await deliver(runtime)).sent == 1
    clock.advance(timedelta(hours=1))
    assert (await deliver(runtime)).claimed == 0

    keys = receiver.keys()
    assert len(keys) == 3 and len(set(keys)) == 1
    assert receiver.deliveries == keys[:1]
    assert all(r.signature_ok for r in receiver.requests)
    assert (await message(runtime, message_id)).delivery_status == "sent"
    assert (await statuses_announced(runtime, workspace, message_id)).count("sent") == 1


async def test_an_app_that_keeps_failing_gives_a_failed_message_with_the_reason(
    runtime: Runtime,
    workspace: WorkspaceFixture,
    receiver: Receiver,
    clock: ManualClock,
    app_conversation: int,
) -> None:
    receiver.default = Answer(500, "database down")
    message_id = await agent_replies(runtime, workspace, app_conversation, "Hello?")

    for _ in range(POLICY.max_attempts):
        await deliver(runtime)
        clock.advance(timedelta(minutes=5))
    assert (await deliver(runtime)).claimed == 0

    failed = await message(runtime, message_id)
    assert failed.delivery_status == "failed"
    assert failed.failure_reason is not None
    assert "gave up after 3 attempts" in failed.failure_reason
    assert "HTTP 500: database down" in failed.failure_reason
    assert len(receiver.requests) == 3
    assert (await statuses_announced(runtime, workspace, message_id))[-1] == "failed"


async def test_a_refused_reply_fails_at_once_with_the_apps_answer(
    runtime: Runtime, workspace: WorkspaceFixture, receiver: Receiver, app_conversation: int
) -> None:
    receiver.answer_next(Answer(400, '{"error": "unknown user app-user-42"}'))
    message_id = await agent_replies(runtime, workspace, app_conversation, "Hi")

    assert (await deliver(runtime)).failed == 1

    failed = await message(runtime, message_id)
    assert failed.delivery_status == "failed"
    assert failed.failure_reason is not None
    assert "HTTP 400" in failed.failure_reason and "unknown user" in failed.failure_reason
    assert len(receiver.requests) == 1


async def test_api_inbox_without_webhook_url_fails_with_the_reason(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    await point_api_inbox_at(runtime, workspace, None)
    conversation_id = await inbound(client, workspace, "api", "external", "app-user-7")
    message_id = await agent_replies(runtime, workspace, conversation_id, "Hi")

    await deliver(runtime)

    failed = await message(runtime, message_id)
    assert failed.delivery_status == "failed"
    assert failed.failure_reason is not None and "webhook_url" in failed.failure_reason


async def test_reply_on_a_channel_without_an_adapter_fails_clearly(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    # Every channel has its sender now; a deployment that registers none for a channel (here:
    # a worker built with no adapters at all) must still tell the agent why nothing was sent.
    conversation_id = await inbound(client, workspace, "web_chat", "web_visitor", "visitor-7")
    message_id = await agent_replies(runtime, workspace, conversation_id, "Thanks for writing")

    await deliver_due(runtime.uow, OutboundAdapters(), POLICY, runtime.clock.now())

    failed = await message(runtime, message_id)
    assert failed.channel == "web_chat"
    assert failed.delivery_status == "failed"
    assert failed.failure_reason == "no outbound adapter for channel web_chat yet"


async def test_a_late_result_from_a_worker_whose_lease_ran_out_is_dropped(
    runtime: Runtime,
    workspace: WorkspaceFixture,
    receiver: Receiver,
    clock: ManualClock,
    app_conversation: int,
) -> None:
    receiver.answer_next(Answer(hang=True))
    message_id = await agent_replies(runtime, workspace, app_conversation, "Slow one")

    stuck = asyncio.create_task(deliver(runtime))
    await asyncio.to_thread(receiver.wait_for_requests, 1)
    clock.advance(POLICY.lease + timedelta(seconds=1))
    second = await deliver(runtime)
    receiver.release.set()  # the first worker's request now fails, long after its lease
    first = await stuck

    assert second.sent == 1
    assert first.overtaken == 1 and first.sent == 0
    keys = receiver.keys()
    assert len(keys) == 2 and len(set(keys)) == 1
    assert receiver.deliveries == keys[:1]
    assert (await message(runtime, message_id)).delivery_status == "sent"
    assert await statuses_announced(runtime, workspace, message_id) == ["sent"]


async def test_the_worker_sends_as_soon_as_a_reply_is_committed(
    runtime: Runtime, workspace: WorkspaceFixture, receiver: Receiver, app_conversation: int
) -> None:
    # A long poll interval: only the wake-up set on commit can make this quick.
    worker = asyncio.create_task(run_outbound_worker(runtime, poll_interval=30))
    try:
        await asyncio.sleep(0.2)
        message_id = await agent_replies(runtime, workspace, app_conversation, "On its way")
        for _ in range(100):
            if (await message(runtime, message_id)).delivery_status == "sent":
                break
            await asyncio.sleep(0.05)
        assert (await message(runtime, message_id)).delivery_status == "sent"
        assert len(receiver.requests) == 1
    finally:
        worker.cancel()
        with pytest.raises(asyncio.CancelledError):
            await worker


def test_signature_verification_rejects_tampering_and_old_timestamps() -> None:
    body = b'{"message":{"text":"hi"}}'
    header = "v1=" + sign("s3cret", "1700000000", body)
    assert verify_signature("s3cret", "1700000000", body, header, now=1700000100)
    assert verify_signature("s3cret", "1700000000", body, f"v1=00, {header}", now=1700000000)
    assert not verify_signature("s3cret", "1700000000", body + b" ", header, now=1700000000)
    assert not verify_signature("other", "1700000000", body, header, now=1700000000)
    assert not verify_signature("s3cret", "1700000000", body, header, now=1700000301)
    assert not verify_signature("s3cret", "not-a-time", body, header)
