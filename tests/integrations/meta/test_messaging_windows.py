"""The 24-hour customer-service window of WhatsApp and Messenger, enforced when the agent
replies (not discovered later as a failed send), and shown by reply-options."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import WorkspaceFixture, login
from tests.support.meta import (
    PHONE_NUMBER_ID,
    MetaInboxes,
    configure_meta,
    deliver,
    fixture_bytes,
    messages,
    post_webhook,
    send_key,
)
from tests.support.meta_graph import VERSION, GraphServer, running_graph
from threadline.adapters.clock import ManualClock
from threadline.bootstrap import Runtime
from threadline.domain.channels import Channel
from threadline.domain.messaging.messaging_windows import messaging_window

pytestmark = pytest.mark.anyio

NINE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_window_arithmetic() -> None:
    inside = messaging_window(Channel.WHATSAPP, NINE, NINE + timedelta(hours=23, minutes=59))
    assert inside.applies and inside.open and inside.closes_at == NINE + timedelta(hours=24)
    closed = messaging_window(Channel.MESSENGER, NINE, NINE + timedelta(hours=24))
    assert closed.applies and not closed.open
    never = messaging_window(Channel.WHATSAPP, None, NINE)
    assert never.applies and not never.open and never.closes_at is None
    sms = messaging_window(Channel.SMS, None, NINE)
    assert not sms.applies and sms.open


@pytest.fixture
def graph() -> Iterator[GraphServer]:
    with running_graph() as server:
        yield server


@pytest.fixture
async def meta(
    runtime: Runtime, workspace: WorkspaceFixture, graph: GraphServer, tmp_path: Path
) -> MetaInboxes:
    return await configure_meta(runtime, workspace, graph, tmp_path)


def _whatsapp_text(wamid: str, text: str) -> bytes:
    payload = json.loads(fixture_bytes("whatsapp", "text.json"))
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"], message["text"]["body"] = wamid, text
    return json.dumps(payload, ensure_ascii=False).encode()


async def test_whatsapp_text_inside_the_window_template_only_after_it(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    meta: MetaInboxes,
    graph: GraphServer,
    clock: ManualClock,
) -> None:
    await post_webhook(client, "whatsapp", meta.whatsapp, fixture_bytes("whatsapp", "text.json"))
    [inbound] = await messages(runtime, workspace.id)
    conversation = inbound.conversation_id
    agent = await login(client, workspace.slug, "agent")
    replies = f"/api/v1/conversations/{conversation}/replies"

    options = (
        await client.get(f"/api/v1/conversations/{conversation}/reply-options", headers=agent)
    ).json()
    assert options["default_channel"] == "whatsapp"
    whatsapp = next(o for o in options["channels"] if o["channel"] == "whatsapp")
    assert whatsapp["text_allowed"] and whatsapp["window"]["open"]
    assert whatsapp["window"]["closes_at"] == "2026-11-03T09:00:00+00:00"
    sms = next(o for o in options["channels"] if o["channel"] == "sms")
    assert sms["text_allowed"] and not sms["window"]["applies"]

    clock.advance(timedelta(hours=23, minutes=59))
    agent = await login(client, workspace.slug, "agent")  # sign-ins last 12 hours
    inside = await client.post(replies, headers=agent, json={"text": "Still within the day"})
    assert inside.status_code == 201, inside.text

    clock.advance(timedelta(minutes=2))
    agent = await login(client, workspace.slug, "agent")
    refused = await client.post(replies, headers=agent, json={"text": "Are you still there?"})
    assert refused.status_code == 422
    assert refused.json()["title"] == "Channel not allowed"
    assert refused.json()["detail"] == (
        "the WhatsApp 24-hour window closed at 2026-11-03T09:00+00:00; "
        "send an approved template instead"
    )
    options = (
        await client.get(f"/api/v1/conversations/{conversation}/reply-options", headers=agent)
    ).json()
    whatsapp = next(o for o in options["channels"] if o["channel"] == "whatsapp")
    assert not whatsapp["text_allowed"] and not whatsapp["window"]["open"]
    assert whatsapp["available"] and "send an approved template" in whatsapp["reason"]
    assert [t["name"] for t in whatsapp["templates"]] == [
        "order_update",
        "order_update",
        "callback_offer",
    ]

    unapproved = await client.post(
        replies,
        headers=agent,
        json={"text": "Promo", "template": {"name": "black_friday", "language": "pl"}},
    )
    assert unapproved.status_code == 422
    assert "not approved" in unapproved.json()["detail"]
    assert "order_update (pl), order_update (en_US), callback_offer" in unapproved.json()["detail"]

    template = await client.post(
        replies,
        headers=agent,
        json={
            "text": "Zamówienie A-1042: wysłane",
            "template": {
                "name": "order_update",
                "language": "pl",
                "parameters": ["A-1042", "wysłane"],
            },
        },
    )
    assert template.status_code == 201, template.text
    # SMS has no window: the agent may still write there.
    by_sms = await client.post(
        replies, headers=agent, json={"text": "See WhatsApp", "channel": "sms"}
    )
    assert by_sms.status_code == 201, by_sms.text

    assert (await deliver(runtime)).sent == 2  # the WhatsApp ones; SMS is another adapter's
    # Both went in one round, in either order.
    sends = {send.body["type"]: send for send in graph.sends()}
    assert sends["text"].body["text"]["body"] == "Still within the day"
    template_send = sends["template"]
    assert template_send.path == f"/{VERSION}/{PHONE_NUMBER_ID}/messages"
    assert template_send.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "48601234567",
        "biz_opaque_callback_data": await send_key(runtime, template.json()["id"]),
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "pl"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "A-1042"},
                        {"type": "text", "text": "wysłane"},
                    ],
                }
            ],
        },
    }

    # The customer writes again: the window re-opens for plain text.
    await post_webhook(client, "whatsapp", meta.whatsapp, _whatsapp_text("wamid.second", "Dzięki!"))
    again = await client.post(replies, headers=agent, json={"text": "You're welcome"})
    assert again.status_code == 201, again.text


async def test_whatsapp_to_a_customer_who_only_texted_by_sms_needs_a_template(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, meta: MetaInboxes
) -> None:
    sms = await client.post(
        "/api/v1/inbound/messages",
        headers={"X-API-Key": workspace.api_key},
        json={
            "inbox_id": workspace.inboxes["sms"],
            "sender": {"kind": "phone", "value": "+48 601 234 567"},
            "text": "Call me back please",
        },
    )
    conversation = sms.json()["conversation_id"]
    agent = await login(client, workspace.slug, "agent")
    replies = f"/api/v1/conversations/{conversation}/replies"
    text = await client.post(replies, headers=agent, json={"text": "Hi", "channel": "whatsapp"})
    assert text.status_code == 422
    assert "has not written on WhatsApp yet" in text.json()["detail"]
    template = await client.post(
        replies,
        headers=agent,
        json={
            "text": "Callback offer",
            "channel": "whatsapp",
            "template": {"name": "callback_offer", "language": "en_US"},
        },
    )
    assert template.status_code == 201, template.text
    assert template.json()["channel"] == "whatsapp"
    # Templates are WhatsApp's alone.
    on_sms = await client.post(
        replies,
        headers=agent,
        json={
            "text": "x",
            "channel": "sms",
            "template": {"name": "callback_offer", "language": "en_US"},
        },
    )
    assert on_sms.status_code == 422 and "only be sent on WhatsApp" in on_sms.json()["detail"]


async def test_messenger_outside_the_window_takes_no_reply(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    meta: MetaInboxes,
    clock: ManualClock,
) -> None:
    await post_webhook(client, "messenger", meta.messenger, fixture_bytes("messenger", "text.json"))
    [inbound] = await messages(runtime, workspace.id)
    replies = f"/api/v1/conversations/{inbound.conversation_id}/replies"
    clock.advance(timedelta(hours=25))
    agent = await login(client, workspace.slug, "agent")
    refused = await client.post(replies, headers=agent, json={"text": "Hello?"})
    assert refused.status_code == 422
    assert refused.json()["detail"] == (
        "the Messenger 24-hour window closed at 2026-11-03T09:00+00:00; "
        "Messenger allows no reply until the customer writes again"
    )
    options = (
        await client.get(
            f"/api/v1/conversations/{inbound.conversation_id}/reply-options", headers=agent
        )
    ).json()
    [messenger] = options["channels"]
    assert messenger["channel"] == "messenger"
    assert not messenger["available"] and messenger["templates"] == []
    assert len(await messages(runtime, workspace.id)) == 1


async def test_reply_options_of_another_workspace_are_not_found(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    other_workspace: WorkspaceFixture,
    meta: MetaInboxes,
) -> None:
    await post_webhook(client, "whatsapp", meta.whatsapp, fixture_bytes("whatsapp", "text.json"))
    [inbound] = await messages(runtime, workspace.id)
    stranger = await login(client, other_workspace.slug, "admin")
    response = await client.get(
        f"/api/v1/conversations/{inbound.conversation_id}/reply-options", headers=stranger
    )
    assert response.status_code == 404
