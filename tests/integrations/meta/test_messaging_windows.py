"""The 24-hour customer-service window of WhatsApp and Messenger, enforced when the agent
replies (not discovered later as a failed send), and shown by reply-options."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import WorkspaceFixture, login
from tests.support.meta import fixture_bytes
from tests.support.meta_workspace import (
    MetaWorkspace,
    assert_cloud_api_call,
    cloud_api_body,
    template_content,
)
from threadline.adapters.clock import ManualClock
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


def _whatsapp_text(wamid: str, text: str) -> bytes:
    payload = json.loads(fixture_bytes("whatsapp", "text.json"))
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"], message["text"]["body"] = wamid, text
    return json.dumps(payload, ensure_ascii=False).encode()


async def test_whatsapp_text_inside_the_window_template_only_after_it(
    meta: MetaWorkspace, clock: ManualClock
) -> None:
    inbound = await meta.customer_texts("whatsapp")
    conversation = inbound.conversation_id
    agent = await meta.agent()

    options = await meta.reply_options(agent, conversation)
    assert options["default_channel"] == "whatsapp"
    whatsapp = next(o for o in options["channels"] if o["channel"] == "whatsapp")
    assert whatsapp["text_allowed"] and whatsapp["window"]["open"]
    assert whatsapp["window"]["closes_at"] == "2026-11-03T09:00:00+00:00"
    sms = next(o for o in options["channels"] if o["channel"] == "sms")
    assert sms["text_allowed"] and not sms["window"]["applies"]

    clock.advance(timedelta(hours=23, minutes=59))
    agent = await meta.agent()  # sign-ins last 12 hours
    inside = await meta.reply(agent, conversation, {"text": "Still within the day"})
    assert inside.status_code == 201, inside.text

    clock.advance(timedelta(minutes=2))
    agent = await meta.agent()
    refused = await meta.reply(agent, conversation, {"text": "Are you still there?"})
    assert refused.status_code == 422
    assert refused.json()["title"] == "Channel not allowed"
    assert refused.json()["detail"] == (
        "the WhatsApp 24-hour window closed at 2026-11-03T09:00+00:00; "
        "send an approved template instead"
    )
    options = await meta.reply_options(agent, conversation)
    whatsapp = next(o for o in options["channels"] if o["channel"] == "whatsapp")
    assert not whatsapp["text_allowed"] and not whatsapp["window"]["open"]
    assert whatsapp["available"] and "send an approved template" in whatsapp["reason"]
    assert [t["name"] for t in whatsapp["templates"]] == [
        "order_update",
        "order_update",
        "callback_offer",
    ]

    unapproved = await meta.reply(
        agent,
        conversation,
        {"text": "Promo", "template": {"name": "black_friday", "language": "pl"}},
    )
    assert unapproved.status_code == 422
    assert "not approved" in unapproved.json()["detail"]
    assert "order_update (pl), order_update (en_US), callback_offer" in unapproved.json()["detail"]

    template = await meta.reply(
        agent,
        conversation,
        {
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
    by_sms = await meta.reply(agent, conversation, {"text": "See WhatsApp", "channel": "sms"})
    assert by_sms.status_code == 201, by_sms.text

    assert (await meta.deliver()).sent == 2  # the WhatsApp ones; SMS is another adapter's
    # Both went in one round, in either order.
    sends = {send.body["type"]: send for send in meta.graph.sends()}
    assert sends["text"].body["text"]["body"] == "Still within the day"
    template_send = sends["template"]
    assert_cloud_api_call(template_send)
    assert template_send.body == await cloud_api_body(
        meta.runtime,
        template.json()["id"],
        "template",
        template_content("order_update", "pl", "A-1042", "wysłane"),
    )

    # The customer writes again: the window re-opens for plain text.
    await meta.post("whatsapp", _whatsapp_text("wamid.second", "Dzięki!"))
    again = await meta.reply(agent, conversation, {"text": "You're welcome"})
    assert again.status_code == 201, again.text


async def test_whatsapp_to_a_customer_who_only_texted_by_sms_needs_a_template(
    meta: MetaWorkspace,
) -> None:
    sms = await meta.customer_texts_by_sms("+48 601 234 567", "Call me back please")
    conversation = sms["conversation_id"]
    agent = await meta.agent()
    text = await meta.reply(agent, conversation, {"text": "Hi", "channel": "whatsapp"})
    assert text.status_code == 422
    assert "has not written on WhatsApp yet" in text.json()["detail"]
    callback_offer = {"name": "callback_offer", "language": "en_US"}
    template = await meta.reply(
        agent,
        conversation,
        {"text": "Callback offer", "channel": "whatsapp", "template": callback_offer},
    )
    assert template.status_code == 201, template.text
    assert template.json()["channel"] == "whatsapp"
    # Templates are WhatsApp's alone.
    on_sms = await meta.reply(
        agent, conversation, {"text": "x", "channel": "sms", "template": callback_offer}
    )
    assert on_sms.status_code == 422 and "only be sent on WhatsApp" in on_sms.json()["detail"]


async def test_messenger_outside_the_window_takes_no_reply(
    meta: MetaWorkspace, clock: ManualClock
) -> None:
    inbound = await meta.customer_texts("messenger")
    clock.advance(timedelta(hours=25))
    agent = await meta.agent()
    refused = await meta.reply(agent, inbound.conversation_id, {"text": "Hello?"})
    assert refused.status_code == 422
    assert refused.json()["detail"] == (
        "the Messenger 24-hour window closed at 2026-11-03T09:00+00:00; "
        "Messenger allows no reply until the customer writes again"
    )
    options = await meta.reply_options(agent, inbound.conversation_id)
    [messenger] = options["channels"]
    assert messenger["channel"] == "messenger"
    assert not messenger["available"] and messenger["templates"] == []
    assert len(await meta.messages()) == 1


async def test_reply_options_of_another_workspace_are_not_found(
    meta: MetaWorkspace, other_workspace: WorkspaceFixture
) -> None:
    inbound = await meta.customer_texts("whatsapp")
    stranger = await login(meta.client, other_workspace.slug, "admin")
    response = await meta.client.get(
        f"/api/v1/conversations/{inbound.conversation_id}/reply-options", headers=stranger
    )
    assert response.status_code == 404
