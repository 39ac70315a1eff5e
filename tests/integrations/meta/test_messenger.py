"""Facebook Messenger: webhooks as Meta sends them, one test per fixture, and replies in
the Send API's wire format, through a local stand-in for the Graph API."""

from __future__ import annotations

import json

import pytest

from tests.support.fixtures import fixture_names
from tests.support.meta import fixture_bytes
from tests.support.meta_graph import ACCESS_TOKEN, VERSION, GraphServer
from tests.support.meta_workspace import MetaWorkspace
from threadline.adapters.db import tables as t

pytestmark = pytest.mark.anyio

PSID = "6728419073845123"
OUR_MID = "m_OUTBOUND0001AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
KETTLE = b"\xff\xd8\xff\xe0 kettle photo"


@pytest.fixture
def graph(graph: GraphServer) -> GraphServer:
    graph.cdn["/v/t1.15752-9/kettle.jpg"] = ("image/jpeg", KETTLE)
    return graph


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


async def _one_message(meta: MetaWorkspace, name: str) -> t.Message:
    response = await meta.post_fixture("messenger", name)
    assert response.status_code == 200, response.text
    [message] = await meta.messages()
    assert message.channel == "messenger" and message.direction == "inbound"
    assert message.sender_identity == PSID
    assert await meta.identities() == [("messenger", PSID)]
    # Redelivery stores nothing new.
    again = await meta.post_fixture("messenger", name)
    assert again.status_code == 200 and again.json()["stored"] == 0
    assert len(await meta.messages()) == 1
    return message


async def test_text(meta: MetaWorkspace) -> None:
    message = await _one_message(meta, "text.json")
    assert message.text == "Zażółć gęślą jaźń 👋"
    assert message.provider_message_id == "m_AbCdEf0001XyZ-text"


async def test_image_attachment_is_downloaded_and_stored(meta: MetaWorkspace) -> None:
    message = await _one_message(meta, "image.json")
    [attachment] = message.attachments
    assert attachment["content_type"] == "image/jpeg" and attachment["kind"] == "image"
    assert meta.attachment_bytes(attachment) == KETTLE
    # The CDN link is fetched without our page token.
    [fetch] = meta.graph.fetches()
    assert fetch.authorization is None


async def test_quick_reply(meta: MetaWorkspace) -> None:
    message = await _one_message(meta, "quick_reply.json")
    assert message.text == "Red"
    assert message.meta["quick_reply"] == {"payload": "COLOR_RED"}


async def test_postback(meta: MetaWorkspace) -> None:
    message = await _one_message(meta, "postback.json")
    assert message.text == "Track my order"
    assert message.meta["postback"] == {"title": "Track my order", "payload": "TRACK_ORDER"}


async def test_reaction(meta: MetaWorkspace) -> None:
    message = await _one_message(meta, "reaction.json")
    assert message.text == "Reacted ❤️"
    assert message.meta["reaction"]["message_id"] == OUR_MID


async def test_echo_of_our_own_page_message_is_not_a_customer_message(
    meta: MetaWorkspace,
) -> None:
    response = await meta.post_fixture("messenger", "echo.json")
    assert response.status_code == 200
    assert await meta.messages() == []


async def _replied(meta: MetaWorkspace) -> tuple[int, dict[str, str]]:
    message_id, agent = await meta.replied("messenger", "Cześć! Już sprawdzam.")
    meta.graph.next_ids.append(OUR_MID)
    assert (await meta.deliver()).sent == 1
    return message_id, agent


async def test_reply_goes_out_in_the_send_api_format(meta: MetaWorkspace) -> None:
    message_id, agent = await _replied(meta)
    [send] = meta.graph.sends()
    assert send.path == f"/{VERSION}/me/messages"
    assert send.authorization == f"Bearer {ACCESS_TOKEN}"
    assert send.body == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        # metadata comes back in the message_echoes webhook, naming our reply.
        "message": {
            "text": "Cześć! Już sprawdzam.",
            "metadata": await meta.send_key(message_id),
        },
    }
    seen = await meta.shown(agent, message_id)
    assert seen["delivery_status"] == "sent" and seen["provider_message_id"] == OUR_MID


async def test_delivery(meta: MetaWorkspace) -> None:
    message_id, agent = await _replied(meta)
    assert (await meta.post_fixture("messenger", "delivery.json")).status_code == 200
    seen = await meta.shown(agent, message_id)
    assert seen["delivery_status"] == "delivered"


async def test_read(meta: MetaWorkspace) -> None:
    message_id, agent = await _replied(meta)
    response = await meta.post_fixture("messenger", "read.json")
    assert response.status_code == 200 and response.json()["statuses_applied"] == 1
    seen = await meta.shown(agent, message_id)
    assert seen["delivery_status"] == "read"


async def test_verification_and_forged_signature(meta: MetaWorkspace) -> None:
    ok = await meta.handshake("messenger", "CHALLENGE_ACCEPTED")
    assert ok.status_code == 200 and ok.text == "CHALLENGE_ACCEPTED"
    not_subscribe = await meta.handshake("messenger", "x", mode="unsubscribe")
    assert not_subscribe.status_code == 403

    raw = fixture_bytes("messenger", "text.json")
    forged = await meta.post("messenger", raw, secret="someone-else")
    assert forged.status_code == 403
    malformed = await meta.post(
        "messenger",
        json.dumps({"object": "page", "entry": [{"messaging": [{"sender": {}}]}]}).encode(),
    )
    assert malformed.status_code == 400 and "sender.id" in malformed.json()["detail"]
    assert await meta.messages() == []
