"""WhatsApp Cloud API: webhooks as Meta sends them, one test per fixture, and replies in
the Cloud API's wire format, through a local stand-in for the Graph API."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from tests.support.fixtures import fixture_names
from tests.support.meta import APP_SECRET, PHONE_NUMBER_ID, VERIFY_TOKEN, fixture_bytes
from tests.support.meta_graph import ACCESS_TOKEN, VERSION, GraphServer
from tests.support.meta_workspace import (
    MetaWorkspace,
    assert_cloud_api_call,
    cloud_api_body,
)
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
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
def graph(graph: GraphServer) -> GraphServer:
    graph.media.update(MEDIA)
    return graph


def _media(kind: str, media_id: str, filename: str | None = None) -> Callable[..., None]:
    def check(message: t.Message, meta: MetaWorkspace) -> None:
        [attachment] = message.attachments
        content_type, data = MEDIA[media_id]
        assert attachment["content_type"] == content_type
        assert attachment["kind"] == kind
        assert meta.attachment_bytes(attachment) == data
        if filename:
            assert attachment["filename"] == filename
        # Fetched the Graph way: describe the media id, then download its url, both with
        # the inbox's token.
        paths = [(r.path, r.authorization) for r in meta.graph.fetches()]
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
    name: str, meta: MetaWorkspace
) -> None:
    raw = fixture_bytes("whatsapp", name)
    response = await meta.post("whatsapp", raw)
    assert response.status_code == 200, response.text

    [message] = await meta.messages()
    payload = json.loads(raw)
    wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert message.channel == "whatsapp" and message.direction == "inbound"
    assert message.provider_message_id == wamid
    assert message.sender_identity == PHONE
    for check in INBOUND[name]:
        check(message, meta)
    assert await meta.identities() == [("phone", PHONE)]

    # Meta redelivers: nothing new is stored and media is not fetched again.
    fetched = len(meta.graph.fetches())
    again = await meta.post("whatsapp", raw)
    assert again.status_code == 200 and again.json()["stored"] == 0
    assert len(await meta.messages()) == 1
    assert len(meta.graph.fetches()) == fetched


@pytest.mark.parametrize("name", sorted(STATUSES))
async def test_status_fixture_updates_our_reply(name: str, meta: MetaWorkspace) -> None:
    sent_id, agent = await meta.replied("whatsapp", "Dzień dobry! Sprawdzamy.")
    meta.graph.next_ids.append(OUR_WAMID)
    assert (await meta.deliver()).sent == 1

    response = await meta.post_fixture("whatsapp", name)
    assert response.status_code == 200, response.text

    expected_status, reason_part = STATUSES[name]
    seen = await meta.shown(agent, sent_id)
    assert seen["delivery_status"] == expected_status
    if reason_part:
        assert reason_part in seen["failure_reason"]
        assert "24 hours" in seen["failure_reason"]
    # The report is not a message of its own.
    assert len(await meta.messages()) == 2


async def test_reply_goes_out_in_the_cloud_api_format(meta: MetaWorkspace) -> None:
    reply_id, agent = await meta.replied("whatsapp", "Wysyłamy nowy czajnik 🚚")

    assert (await meta.deliver()).sent == 1
    [send] = meta.graph.sends()
    assert_cloud_api_call(send)
    assert send.body == await cloud_api_body(
        meta.runtime,
        reply_id,
        "text",
        {"preview_url": False, "body": "Wysyłamy nowy czajnik 🚚"},
    )
    seen = await meta.shown(agent, reply_id)
    assert seen["delivery_status"] == "sent"
    assert seen["provider_message_id"] == "wamid.FAKE0001"


async def test_graph_errors_fail_permanently_or_are_retried(
    clock: ManualClock, meta: MetaWorkspace
) -> None:
    first_id, agent = await meta.replied("whatsapp", "Hello")
    meta.graph.answer_next(
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
    meta.graph.answer_next(
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
    report = await meta.deliver()
    assert report.retrying == 1
    clock.advance(timedelta(seconds=10))
    report = await meta.deliver()
    assert report.failed == 1
    seen = await meta.shown(agent, first_id)
    assert seen["delivery_status"] == "failed"
    assert "Message undeliverable" in seen["failure_reason"] and "131026" in seen["failure_reason"]
    assert ACCESS_TOKEN not in seen["failure_reason"]


async def test_one_phone_number_is_one_customer_across_sms_and_whatsapp(
    meta: MetaWorkspace,
) -> None:
    await meta.customer_texts_by_sms("601 234 567", "My kettle leaks")
    await meta.post_fixture("whatsapp", "image.json")
    sms_message, whatsapp_message = await meta.messages()
    assert sms_message.conversation_id == whatsapp_message.conversation_id
    assert await meta.identities() == [("phone", PHONE)]


async def test_signature_is_over_the_raw_non_ascii_bytes(meta: MetaWorkspace) -> None:
    raw = fixture_bytes("whatsapp", "text.json")
    assert "Zażółć".encode() in raw  # literal UTF-8 on the wire
    # A signature over the JSON re-serialised (as Meta's escaped form) is not a signature
    # of these bytes: refused, nothing stored.
    reserialised = json.dumps(json.loads(raw)).encode()
    forged = await meta.post("whatsapp", raw, signature=sign(APP_SECRET, reserialised))
    assert forged.status_code == 403
    wrong_secret = await meta.post("whatsapp", raw, secret="not-the-secret")
    assert wrong_secret.status_code == 403
    missing = await meta.post("whatsapp", raw, signature="")
    assert missing.status_code == 403
    assert "X-Hub-Signature-256" in missing.json()["detail"]
    assert await meta.messages() == []

    # The escaped form signed as sent is fine too: the bytes are what counts.
    escaped = json.dumps(json.loads(raw), ensure_ascii=True).encode()
    assert (await meta.post("whatsapp", escaped)).status_code == 200
    assert (await meta.post("whatsapp", raw)).status_code == 200
    [message] = await meta.messages()
    assert message.text == "Zażółć gęślą jaźń 👋"


async def test_verification_handshake(meta: MetaWorkspace) -> None:
    ok = await meta.handshake("whatsapp", "1158201444")
    assert ok.status_code == 200
    assert ok.text == "1158201444"
    assert ok.headers["content-type"].startswith("text/plain")
    wrong = await meta.handshake("whatsapp", "1", token="guess")
    assert wrong.status_code == 403
    # Another channel's inbox is not a WhatsApp webhook.
    other = await meta.handshake("whatsapp", "1", inbox_id=meta.ws.inboxes["sms"])
    assert other.status_code == 404


async def test_malformed_batches_are_refused_whole_with_the_reason(meta: MetaWorkspace) -> None:
    not_json = await meta.post("whatsapp", b'{"object": "whats')
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["detail"]

    wrong_object = await meta.post("whatsapp", b'{"object": "page", "entry": []}')
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
    response = await meta.post("whatsapp", json.dumps(payload).encode())
    assert response.status_code == 400
    assert "wamid.broken" in response.json()["detail"] and "image.id" in response.json()["detail"]

    bad_phone = json.loads(fixture_bytes("whatsapp", "text.json"))
    bad_phone["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = "123"
    response = await meta.post("whatsapp", json.dumps(bad_phone).encode())
    assert response.status_code == 400
    assert await meta.messages() == []


async def test_media_that_cannot_be_fetched_is_retried_by_meta_not_lost(
    meta: MetaWorkspace,
) -> None:
    meta.graph.media.pop("1479537139650973")
    raw = fixture_bytes("whatsapp", "image.json")
    failed = await meta.post("whatsapp", raw)
    # Not 200, so Meta delivers the webhook again; nothing half-stored meanwhile.
    assert failed.status_code == 502, failed.text
    assert await meta.messages() == []
    meta.graph.media.update(MEDIA)
    assert (await meta.post("whatsapp", raw)).status_code == 200
    [message] = await meta.messages()
    assert message.attachments[0]["content_type"] == "image/jpeg"


async def test_the_access_token_is_never_shown_back(meta: MetaWorkspace) -> None:
    agent = await meta.agent()
    inboxes = (await meta.client.get("/api/v1/inboxes", headers=agent)).json()
    whatsapp = next(i for i in inboxes if i["id"] == meta.inboxes.whatsapp)
    assert "access_token" not in whatsapp["settings"]
    # The verify token is a shared secret too (issue 13).
    assert "verify_token" not in whatsapp["settings"]
    assert whatsapp["write_only_settings_set"] == ["access_token", "verify_token"]
    assert whatsapp["settings"]["phone_number_id"] == PHONE_NUMBER_ID
    assert ACCESS_TOKEN not in json.dumps(inboxes)
    assert VERIFY_TOKEN not in json.dumps(inboxes)
