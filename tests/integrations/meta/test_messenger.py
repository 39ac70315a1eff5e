"""Facebook Messenger: webhooks as Meta sends them, one test per fixture, and replies in
the Send API's wire format, through a local stand-in for the Graph API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import WorkspaceFixture, login
from tests.support.fixtures import fixture_names
from tests.support.meta import (
    VERIFY_TOKEN,
    MetaInboxes,
    attachment_bytes,
    configure_meta,
    deliver,
    fixture_bytes,
    identities,
    messages,
    post_webhook,
    send_key,
)
from tests.support.meta_graph import ACCESS_TOKEN, VERSION, GraphServer, running_graph
from threadline.bootstrap import Runtime

pytestmark = pytest.mark.anyio

PSID = "6728419073845123"
OUR_MID = "m_OUTBOUND0001AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
KETTLE = b"\xff\xd8\xff\xe0 kettle photo"


@pytest.fixture
def graph() -> Iterator[GraphServer]:
    with running_graph() as server:
        server.cdn["/v/t1.15752-9/kettle.jpg"] = ("image/jpeg", KETTLE)
        yield server


@pytest.fixture
async def meta(
    runtime: Runtime, workspace: WorkspaceFixture, graph: GraphServer, tmp_path: Path
) -> MetaInboxes:
    return await configure_meta(runtime, workspace, graph, tmp_path)


def test_every_fixture_has_a_test() -> None:
    on_disk = fixture_names("messenger", "*.json")
    assert on_disk == {
        "text.json",
        "image.json",
        "quick_reply.json",
        "postback.json",
        "reaction.json",
        "echo.json",
        "delivery.json",
        "read.json",
    }


async def _one_message(
    client: httpx.AsyncClient,
    runtime: Runtime,
    ws: WorkspaceFixture,
    meta: MetaInboxes,
    name: str,
    graph: GraphServer | None = None,
) -> object:
    raw = fixture_bytes("messenger", name, graph)
    response = await post_webhook(client, "messenger", meta.messenger, raw)
    assert response.status_code == 200, response.text
    [message] = await messages(runtime, ws.id)
    assert message.channel == "messenger" and message.direction == "inbound"
    assert message.sender_identity == PSID
    assert [(k, v) for k, v, _ in await identities(runtime, ws.id)] == [("messenger", PSID)]
    # Redelivery stores nothing new.
    again = await post_webhook(client, "messenger", meta.messenger, raw)
    assert again.status_code == 200 and again.json()["stored"] == 0
    assert len(await messages(runtime, ws.id)) == 1
    return message


async def test_text(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, meta: MetaInboxes
) -> None:
    message = await _one_message(client, runtime, workspace, meta, "text.json")
    assert message.text == "Zażółć gęślą jaźń 👋"  # type: ignore[attr-defined]
    assert message.provider_message_id == "m_AbCdEf0001XyZ-text"  # type: ignore[attr-defined]


async def test_image_attachment_is_downloaded_and_stored(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    meta: MetaInboxes,
    graph: GraphServer,
    tmp_path: Path,
) -> None:
    message = await _one_message(client, runtime, workspace, meta, "image.json", graph)
    [attachment] = message.attachments  # type: ignore[attr-defined]
    assert attachment["content_type"] == "image/jpeg" and attachment["kind"] == "image"
    assert attachment_bytes(tmp_path, workspace.id, attachment) == KETTLE
    # The CDN link is fetched without our page token.
    [fetch] = graph.fetches()
    assert fetch.authorization is None


async def test_quick_reply(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, meta: MetaInboxes
) -> None:
    message = await _one_message(client, runtime, workspace, meta, "quick_reply.json")
    assert message.text == "Red"  # type: ignore[attr-defined]
    assert message.meta["quick_reply"] == {"payload": "COLOR_RED"}  # type: ignore[attr-defined]


async def test_postback(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, meta: MetaInboxes
) -> None:
    message = await _one_message(client, runtime, workspace, meta, "postback.json")
    assert message.text == "Track my order"  # type: ignore[attr-defined]
    assert message.meta["postback"] == {"title": "Track my order", "payload": "TRACK_ORDER"}  # type: ignore[attr-defined]


async def test_reaction(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, meta: MetaInboxes
) -> None:
    message = await _one_message(client, runtime, workspace, meta, "reaction.json")
    assert message.text == "Reacted ❤️"  # type: ignore[attr-defined]
    assert message.meta["reaction"]["message_id"] == OUR_MID  # type: ignore[attr-defined]


async def test_echo_of_our_own_page_message_is_not_a_customer_message(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, meta: MetaInboxes
) -> None:
    raw = fixture_bytes("messenger", "echo.json")
    response = await post_webhook(client, "messenger", meta.messenger, raw)
    assert response.status_code == 200
    assert await messages(runtime, workspace.id) == []


async def _replied(
    client: httpx.AsyncClient,
    runtime: Runtime,
    ws: WorkspaceFixture,
    meta: MetaInboxes,
    graph: GraphServer,
) -> tuple[int, dict[str, str]]:
    await post_webhook(client, "messenger", meta.messenger, fixture_bytes("messenger", "text.json"))
    [inbound] = await messages(runtime, ws.id)
    agent = await login(client, ws.slug, "agent")
    reply = await client.post(
        f"/api/v1/conversations/{inbound.conversation_id}/replies",
        headers=agent,
        json={"text": "Cześć! Już sprawdzam."},
    )
    assert reply.status_code == 201, reply.text
    graph.next_ids.append(OUR_MID)
    assert (await deliver(runtime)).sent == 1
    return int(reply.json()["id"]), agent


async def test_reply_goes_out_in_the_send_api_format(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    meta: MetaInboxes,
    graph: GraphServer,
) -> None:
    message_id, agent = await _replied(client, runtime, workspace, meta, graph)
    [send] = graph.sends()
    assert send.path == f"/{VERSION}/me/messages"
    assert send.authorization == f"Bearer {ACCESS_TOKEN}"
    assert send.body == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        # metadata comes back in the message_echoes webhook, naming our reply.
        "message": {
            "text": "Cześć! Już sprawdzam.",
            "metadata": await send_key(runtime, message_id),
        },
    }
    seen = (await client.get(f"/api/v1/messages/{message_id}", headers=agent)).json()
    assert seen["delivery_status"] == "sent" and seen["provider_message_id"] == OUR_MID


async def test_delivery(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    meta: MetaInboxes,
    graph: GraphServer,
) -> None:
    message_id, agent = await _replied(client, runtime, workspace, meta, graph)
    raw = fixture_bytes("messenger", "delivery.json")
    assert (await post_webhook(client, "messenger", meta.messenger, raw)).status_code == 200
    seen = (await client.get(f"/api/v1/messages/{message_id}", headers=agent)).json()
    assert seen["delivery_status"] == "delivered"


async def test_read(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    meta: MetaInboxes,
    graph: GraphServer,
) -> None:
    message_id, agent = await _replied(client, runtime, workspace, meta, graph)
    raw = fixture_bytes("messenger", "read.json")
    response = await post_webhook(client, "messenger", meta.messenger, raw)
    assert response.status_code == 200 and response.json()["statuses_applied"] == 1
    seen = (await client.get(f"/api/v1/messages/{message_id}", headers=agent)).json()
    assert seen["delivery_status"] == "read"


async def test_verification_and_forged_signature(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, meta: MetaInboxes
) -> None:
    url = f"/webhooks/messenger/{meta.messenger}"
    ok = await client.get(
        url,
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "CHALLENGE_ACCEPTED",
        },
    )
    assert ok.status_code == 200 and ok.text == "CHALLENGE_ACCEPTED"
    not_subscribe = await client.get(
        url,
        params={"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "x"},
    )
    assert not_subscribe.status_code == 403

    raw = fixture_bytes("messenger", "text.json")
    forged = await post_webhook(client, "messenger", meta.messenger, raw, secret="someone-else")
    assert forged.status_code == 403
    malformed = await post_webhook(
        client,
        "messenger",
        meta.messenger,
        json.dumps({"object": "page", "entry": [{"messaging": [{"sender": {}}]}]}).encode(),
    )
    assert malformed.status_code == 400 and "sender.id" in malformed.json()["detail"]
    assert await messages(runtime, workspace.id) == []
