"""WhatsApp Cloud API: webhooks as Meta sends them, one test per fixture, and replies in
the Cloud API's wire format, through a local stand-in for the Graph API."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import WorkspaceFixture, login
from tests.support.fixtures import fixture_names
from tests.support.meta import (
    PHONE_NUMBER_ID,
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
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.integrations.meta.signature import sign

pytestmark = pytest.mark.anyio

PHONE = "+48601234567"
OUR_WAMID = "wamid.HBgLNDg2MDEyMzQ1NjcVAgARGBJPVVRCT1VORDAwMDAwMDAxAA=="
MEDIA = {
    "1479537139650973": ("image/jpeg", b"\xff\xd8\xff\xe0 a cracked kettle"),
    "1012345678901234": ("audio/ogg", b"OggS voice note"),
    "1098765432109876": ("video/mp4", b"\x00\x00\x00\x18ftypmp42 leak"),
    "1122334455667788": ("application/pdf", b"%PDF-1.7 receipt"),
    "2233445566778899": ("image/webp", b"RIFF\x00\x00\x00\x00WEBPVP8 sticker"),
}


@pytest.fixture
def graph() -> Iterator[GraphServer]:
    with running_graph() as server:
        server.media.update(MEDIA)
        yield server


@pytest.fixture
async def meta(
    runtime: Runtime, workspace: WorkspaceFixture, graph: GraphServer, tmp_path: Path
) -> MetaInboxes:
    return await configure_meta(runtime, workspace, graph, tmp_path)


def _media(kind: str, media_id: str, filename: str | None = None) -> Callable[..., None]:
    def check(message: t.Message, tmp_path: Path, ws: int, graph: GraphServer) -> None:
        [attachment] = message.attachments
        content_type, data = MEDIA[media_id]
        assert attachment["content_type"] == content_type
        assert attachment["kind"] == kind
        assert attachment_bytes(tmp_path, ws, attachment) == data
        if filename:
            assert attachment["filename"] == filename
        # Fetched the Graph way: describe the media id, then download its url, both with
        # the inbox's token.
        paths = [(r.path, r.authorization) for r in graph.fetches()]
        assert paths == [
            (f"/{VERSION}/{media_id}", f"Bearer {ACCESS_TOKEN}"),
            (f"/whatsapp_business/attachments/{media_id}", f"Bearer {ACCESS_TOKEN}"),
        ]

    return check


def _text(expected: str) -> Callable[..., None]:
    def check(message: t.Message, *_: object) -> None:
        assert message.text == expected

    return check


def _meta(key: str, expected: object) -> Callable[..., None]:
    def check(message: t.Message, *_: object) -> None:
        assert message.meta[key] == expected

    return check


# One line per inbound fixture: what the agent sees once it is stored.
INBOUND: dict[str, list[Callable[..., None]]] = {
    "text.json": [_text("Zażółć gęślą jaźń 👋")],
    "image.json": [_text("Pęknięty czajnik"), _media("image", "1479537139650973")],
    "audio.json": [_text(""), _media("audio", "1012345678901234"), _meta("voice_note", True)],
    "video.json": [_text("How it leaks"), _media("video", "1098765432109876")],
    "document.json": [
        _text("My receipt"),
        _media("document", "1122334455667788", filename="receipt-2026-10.pdf"),
    ],
    "sticker.json": [_media("sticker", "2233445566778899")],
    "location.json": [
        _text("Location: Pałac Kultury i Nauki, plac Defilad 1, Warszawa (52.2296756, 21.0122287)"),
        _meta(
            "location",
            {
                "latitude": 52.2296756,
                "longitude": 21.0122287,
                "name": "Pałac Kultury i Nauki",
                "address": "plac Defilad 1, Warszawa",
            },
        ),
    ],
    "contacts.json": [_text("Shared contact: Jan Kowalski (+48 602 345 678)")],
    "interactive_button_reply.json": [
        _text("Yes, refund me"),
        _meta(
            "interactive",
            {
                "type": "button_reply",
                "id": "refund-yes",
                "title": "Yes, refund me",
                "description": None,
            },
        ),
        _meta("in_reply_to", OUR_WAMID),
    ],
    "interactive_list_reply.json": [
        _text("Tuesday 10:00"),
        _meta(
            "interactive",
            {
                "type": "list_reply",
                "id": "slot-tue-10",
                "title": "Tuesday 10:00",
                "description": "Courier pick-up",
            },
        ),
    ],
    "button.json": [
        _text("Stop promotions"),
        _meta("button", {"text": "Stop promotions", "payload": "STOP_PROMOTIONS"}),
    ],
    "reaction.json": [
        _text("Reacted 👍"),
        _meta("reaction", {"message_id": OUR_WAMID, "emoji": "👍"}),
    ],
    "unsupported.json": [_text("[unsupported message]"), _meta("unsupported", True)],
}
STATUSES = {
    "status_sent.json": ("sent", None),
    "status_delivered.json": ("delivered", None),
    "status_read.json": ("read", None),
    "status_failed.json": ("failed", "Re-engagement message"),
}


def test_every_fixture_has_a_test() -> None:
    on_disk = fixture_names("whatsapp", "*.json")
    assert on_disk == set(INBOUND) | set(STATUSES)


@pytest.mark.parametrize("name", sorted(INBOUND))
async def test_inbound_fixture_is_stored_on_the_customer_by_phone(
    name: str,
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    meta: MetaInboxes,
    graph: GraphServer,
    tmp_path: Path,
) -> None:
    raw = fixture_bytes("whatsapp", name)
    response = await post_webhook(client, "whatsapp", meta.whatsapp, raw)
    assert response.status_code == 200, response.text

    [message] = await messages(runtime, workspace.id)
    payload = json.loads(raw)
    wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert message.channel == "whatsapp" and message.direction == "inbound"
    assert message.provider_message_id == wamid
    assert message.sender_identity == PHONE
    for check in INBOUND[name]:
        check(message, tmp_path, workspace.id, graph)
    assert [(k, v) for k, v, _ in await identities(runtime, workspace.id)] == [("phone", PHONE)]

    # Meta redelivers: nothing new is stored and media is not fetched again.
    fetched = len(graph.fetches())
    again = await post_webhook(client, "whatsapp", meta.whatsapp, raw)
    assert again.status_code == 200 and again.json()["stored"] == 0
    assert len(await messages(runtime, workspace.id)) == 1
    assert len(graph.fetches()) == fetched


@pytest.mark.parametrize("name", sorted(STATUSES))
async def test_status_fixture_updates_our_reply(
    name: str,
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    meta: MetaInboxes,
    graph: GraphServer,
) -> None:
    await post_webhook(client, "whatsapp", meta.whatsapp, fixture_bytes("whatsapp", "text.json"))
    [inbound] = await messages(runtime, workspace.id)
    agent = await login(client, workspace.slug, "agent")
    sent = await client.post(
        f"/api/v1/conversations/{inbound.conversation_id}/replies",
        headers=agent,
        json={"text": "Dzień dobry! Sprawdzamy."},
    )
    assert sent.status_code == 201, sent.text
    graph.next_ids.append(OUR_WAMID)
    assert (await deliver(runtime)).sent == 1

    response = await post_webhook(
        client, "whatsapp", meta.whatsapp, fixture_bytes("whatsapp", name)
    )
    assert response.status_code == 200, response.text

    expected_status, reason_part = STATUSES[name]
    seen = await client.get(f"/api/v1/messages/{sent.json()['id']}", headers=agent)
    assert seen.json()["delivery_status"] == expected_status
    if reason_part:
        assert reason_part in seen.json()["failure_reason"]
        assert "24 hours" in seen.json()["failure_reason"]
    # The report is not a message of its own.
    assert len(await messages(runtime, workspace.id)) == 2


async def test_reply_goes_out_in_the_cloud_api_format(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    meta: MetaInboxes,
    graph: GraphServer,
) -> None:
    await post_webhook(client, "whatsapp", meta.whatsapp, fixture_bytes("whatsapp", "text.json"))
    [inbound] = await messages(runtime, workspace.id)
    agent = await login(client, workspace.slug, "agent")
    reply = await client.post(
        f"/api/v1/conversations/{inbound.conversation_id}/replies",
        headers=agent,
        json={"text": "Wysyłamy nowy czajnik 🚚"},
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["channel"] == "whatsapp"

    assert (await deliver(runtime)).sent == 1
    [send] = graph.sends()
    assert send.path == f"/{VERSION}/{PHONE_NUMBER_ID}/messages"
    assert send.authorization == f"Bearer {ACCESS_TOKEN}"
    assert send.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "48601234567",
        # Echoed in Meta's status webhooks: recognises the reply if our send's answer is lost.
        "biz_opaque_callback_data": await send_key(runtime, reply.json()["id"]),
        "type": "text",
        "text": {"preview_url": False, "body": "Wysyłamy nowy czajnik 🚚"},
    }
    seen = await client.get(f"/api/v1/messages/{reply.json()['id']}", headers=agent)
    assert seen.json()["delivery_status"] == "sent"
    assert seen.json()["provider_message_id"] == "wamid.FAKE0001"


async def test_graph_errors_fail_permanently_or_are_retried(
    clock: ManualClock,
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    meta: MetaInboxes,
    graph: GraphServer,
) -> None:
    await post_webhook(client, "whatsapp", meta.whatsapp, fixture_bytes("whatsapp", "text.json"))
    [inbound] = await messages(runtime, workspace.id)
    agent = await login(client, workspace.slug, "agent")
    graph.answer_next(
        429,
        {
            "error": {
                "message": "(#130429) Rate limit hit",
                "type": "OAuthException",
                "code": 130429,
                "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
            }
        },
    )
    graph.answer_next(
        400,
        {
            "error": {
                "message": "(#131026) Message undeliverable",
                "type": "OAuthException",
                "code": 131026,
                "error_subcode": 2494010,
                "fbtrace_id": "BmN2a7Gl0PqXs",
            }
        },
    )
    first = await client.post(
        f"/api/v1/conversations/{inbound.conversation_id}/replies",
        headers=agent,
        json={"text": "Hello"},
    )
    report = await deliver(runtime)
    assert report.retrying == 1
    clock.advance(timedelta(seconds=10))
    report = await deliver(runtime)
    assert report.failed == 1
    seen = (await client.get(f"/api/v1/messages/{first.json()['id']}", headers=agent)).json()
    assert seen["delivery_status"] == "failed"
    assert "Message undeliverable" in seen["failure_reason"] and "131026" in seen["failure_reason"]
    assert ACCESS_TOKEN not in seen["failure_reason"]


async def test_one_phone_number_is_one_customer_across_sms_and_whatsapp(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, meta: MetaInboxes
) -> None:
    sms = await client.post(
        "/api/v1/inbound/messages",
        headers={"X-API-Key": workspace.api_key},
        json={
            "inbox_id": workspace.inboxes["sms"],
            "sender": {"kind": "phone", "value": "601 234 567"},
            "text": "My kettle leaks",
        },
    )
    assert sms.status_code == 201, sms.text
    await post_webhook(client, "whatsapp", meta.whatsapp, fixture_bytes("whatsapp", "image.json"))
    sms_message, whatsapp_message = await messages(runtime, workspace.id)
    assert sms_message.conversation_id == whatsapp_message.conversation_id
    assert [(k, v) for k, v, _ in await identities(runtime, workspace.id)] == [("phone", PHONE)]


async def test_signature_is_over_the_raw_non_ascii_bytes(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, meta: MetaInboxes
) -> None:
    raw = fixture_bytes("whatsapp", "text.json")
    assert "Zażółć".encode() in raw  # literal UTF-8 on the wire
    # A signature over the JSON re-serialised (as Meta's escaped form) is not a signature
    # of these bytes: refused, nothing stored.
    reserialised = json.dumps(json.loads(raw)).encode()
    forged = await post_webhook(
        client,
        "whatsapp",
        meta.whatsapp,
        raw,
        signature=sign("meta-app-secret-0123456789abcdef", reserialised),
    )
    assert forged.status_code == 403
    wrong_secret = await post_webhook(
        client, "whatsapp", meta.whatsapp, raw, secret="not-the-secret"
    )
    assert wrong_secret.status_code == 403
    missing = await post_webhook(client, "whatsapp", meta.whatsapp, raw, signature="")
    assert missing.status_code == 403
    assert "X-Hub-Signature-256" in missing.json()["detail"]
    assert await messages(runtime, workspace.id) == []

    # The escaped form signed as sent is fine too: the bytes are what counts.
    escaped = json.dumps(json.loads(raw), ensure_ascii=True).encode()
    assert (await post_webhook(client, "whatsapp", meta.whatsapp, escaped)).status_code == 200
    assert (await post_webhook(client, "whatsapp", meta.whatsapp, raw)).status_code == 200
    [message] = await messages(runtime, workspace.id)
    assert message.text == "Zażółć gęślą jaźń 👋"


async def test_verification_handshake(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, meta: MetaInboxes
) -> None:
    url = f"/webhooks/whatsapp/{meta.whatsapp}"
    ok = await client.get(
        url,
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )
    assert ok.status_code == 200
    assert ok.text == "1158201444"
    assert ok.headers["content-type"].startswith("text/plain")
    wrong = await client.get(
        url, params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}
    )
    assert wrong.status_code == 403
    # Another channel's inbox is not a WhatsApp webhook.
    other = await client.get(
        f"/webhooks/whatsapp/{workspace.inboxes['sms']}",
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
    )
    assert other.status_code == 404


async def test_malformed_batches_are_refused_whole_with_the_reason(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, meta: MetaInboxes
) -> None:
    not_json = await post_webhook(client, "whatsapp", meta.whatsapp, b'{"object": "whats')
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["detail"]

    wrong_object = await post_webhook(
        client, "whatsapp", meta.whatsapp, b'{"object": "page", "entry": []}'
    )
    assert (
        wrong_object.status_code == 400
        and "whatsapp_business_account" in wrong_object.json()["detail"]
    )

    # A good message followed by a broken one: nothing of the batch is stored.
    payload = json.loads(fixture_bytes("whatsapp", "text.json"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"].append(
        {"from": "48601234567", "id": "wamid.broken", "type": "image", "image": {}}
    )
    response = await post_webhook(client, "whatsapp", meta.whatsapp, json.dumps(payload).encode())
    assert response.status_code == 400
    assert "wamid.broken" in response.json()["detail"] and "image.id" in response.json()["detail"]

    bad_phone = json.loads(fixture_bytes("whatsapp", "text.json"))
    bad_phone["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = "123"
    response = await post_webhook(client, "whatsapp", meta.whatsapp, json.dumps(bad_phone).encode())
    assert response.status_code == 400
    assert await messages(runtime, workspace.id) == []


async def test_media_that_cannot_be_fetched_is_retried_by_meta_not_lost(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    meta: MetaInboxes,
    graph: GraphServer,
) -> None:
    graph.media.pop("1479537139650973")
    raw = fixture_bytes("whatsapp", "image.json")
    failed = await post_webhook(client, "whatsapp", meta.whatsapp, raw)
    # Not 200, so Meta delivers the webhook again; nothing half-stored meanwhile.
    assert failed.status_code == 502, failed.text
    assert await messages(runtime, workspace.id) == []
    graph.media.update(MEDIA)
    assert (await post_webhook(client, "whatsapp", meta.whatsapp, raw)).status_code == 200
    [message] = await messages(runtime, workspace.id)
    assert message.attachments[0]["content_type"] == "image/jpeg"


async def test_the_access_token_is_never_shown_back(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, meta: MetaInboxes
) -> None:
    agent = await login(client, workspace.slug, "agent")
    inboxes = (await client.get("/api/v1/inboxes", headers=agent)).json()
    whatsapp = next(i for i in inboxes if i["id"] == meta.whatsapp)
    assert "access_token" not in whatsapp["settings"]
    # The verify token is a shared secret too (issue 13).
    assert "verify_token" not in whatsapp["settings"]
    assert whatsapp["write_only_settings_set"] == ["access_token", "verify_token"]
    assert whatsapp["settings"]["phone_number_id"] == PHONE_NUMBER_ID
    assert ACCESS_TOKEN not in json.dumps(inboxes)
    assert VERIFY_TOKEN not in json.dumps(inboxes)
