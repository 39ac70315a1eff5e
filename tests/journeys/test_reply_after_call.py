"""After a call, a written reply goes by text to the caller's number: voice carries no text, is
never offered as a reply channel, and a reply on it is refused with the reason."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select

from tests.conftest import WorkspaceFixture, customer_writes, login
from tests.entrypoints.web.test_web_workspace import sign_in
from tests.support.api_v1 import get_object
from tests.support.inboxes import set_inbox
from tests.support.twilio import (
    CUSTOMER_NUMBER,
    OUR_NUMBER,
    FakeTwilio,
    configure_twilio_inbox,
    fixture_pairs,
    post_signed,
)
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.delivery.outbound import DeliveryPolicy, deliver_due
from threadline.entrypoints.api.app import create_app
from threadline.integrations.senders import build_outbound_adapters

pytestmark = pytest.mark.anyio

CALL_SID = "CA5c9b4b0e1a2d3f4e5a6b7c8d9e0f1a2b"
POLICY = DeliveryPolicy(lease=timedelta(seconds=60), max_attempts=3, backoff_seconds=10)


@pytest.fixture
async def browser(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://threadline.test") as c:
        yield c


async def missed_call(client: httpx.AsyncClient, voice_inbox: int) -> None:
    """A call nobody answered, as Twilio reports it."""
    for endpoint, fixture in (
        ("voice", "voice_inbound.form"),
        ("voice-status", "call_status_no-answer.form"),
    ):
        pairs = fixture_pairs(fixture, CALL_SID=CALL_SID)
        response = await post_signed(client, f"/webhooks/twilio/{voice_inbox}/{endpoint}", pairs)
        assert response.status_code == 200, response.text


async def the_conversation(runtime: Runtime) -> int:
    async with runtime.sessionmaker() as session:
        return int((await session.execute(select(t.Conversation.id))).scalar_one())


async def reply_options(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int
) -> dict[str, Any]:
    return await get_object(
        client, f"/api/v1/conversations/{conversation_id}/reply-options", headers
    )


async def outbound_count(runtime: Runtime) -> int:
    async with runtime.sessionmaker() as session:
        query = select(func.count()).select_from(t.Message).where(t.Message.direction == "outbound")
        return int((await session.execute(query)).scalar_one())


async def test_after_a_missed_call_the_reply_goes_by_sms_to_the_callers_number(
    runtime: Runtime,
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    twilio: FakeTwilio,
) -> None:
    voice_inbox = workspace.inboxes["voice"]
    await configure_twilio_inbox(runtime, voice_inbox)
    # Two SMS inboxes: the reply goes from the one on the number the customer called.
    async with runtime.uow() as uow:
        same_number = t.Inbox(
            workspace_id=workspace.id,
            name="Support line texts",
            channel="sms",
            address=OUR_NUMBER,
            settings={},
            created_at=uow.clock.now(),
        )
        uow.session.add(same_number)
        await set_inbox(uow.session, voice_inbox, address=OUR_NUMBER)
        await set_inbox(uow.session, workspace.inboxes["sms"], address="+15005550006")
        await uow.commit()
        sms_inbox = same_number.id
    await configure_twilio_inbox(runtime, sms_inbox)
    runtime.settings.twilio_api_base = twilio.url
    runtime.settings.public_base_url = ""
    await missed_call(client, voice_inbox)
    conversation_id = await the_conversation(runtime)
    agent = await login(client, workspace.slug, "agent")

    options = await reply_options(client, agent, conversation_id)
    assert options["default_channel"] == "sms"
    assert [o["channel"] for o in options["channels"]] == ["sms", "whatsapp"]
    assert options["default_reason"] == (
        f"the customer last called: a written reply goes by sms to {CUSTOMER_NUMBER}"
    )
    sms = next(o for o in options["channels"] if o["channel"] == "sms")
    assert (sms["inbox_id"], sms["recipient"], sms["text_allowed"]) == (
        sms_inbox,
        CUSTOMER_NUMBER,
        True,
    )

    # The reply box says the same, with no voice option.
    await sign_in(browser, f"agent@{workspace.slug}.example.com")
    page = (await browser.get(f"/app/conversations/{conversation_id}")).text
    picker = page[
        page.index('id="reply-channel"') : page.index("</select>", page.index('id="reply-channel"'))
    ]
    assert re.findall(r'<option value="(\w+)"', picker) == ["sms", "whatsapp"]
    assert re.search(r'<option value="sms"[^>]*selected', picker)
    assert 'data-default-channel="sms"' in page
    assert f"a written reply goes by sms to {CUSTOMER_NUMBER}" in page
    # A follow-up may still be planned as a call back.
    follow = page[page.index('id="follow-channel"') :]
    assert '<option value="voice">' in follow[: follow.index("</select>")]

    sent = await client.post(
        f"/api/v1/conversations/{conversation_id}/replies",
        json={"text": "Sorry we missed you: how can we help?"},
        headers=agent,
    )
    assert sent.status_code == 201, sent.text
    assert (sent.json()["channel"], sent.json()["inbox_id"]) == ("sms", sms_inbox)
    assert sent.json()["meta"]["recipient"] == CUSTOMER_NUMBER

    async with httpx.AsyncClient() as http:
        await deliver_due(
            runtime.uow,
            build_outbound_adapters(runtime.settings, http),
            POLICY,
            runtime.clock.now(),
        )
    [posted] = twilio.messages_posted()
    assert (posted.form["To"], posted.form["Body"]) == (
        CUSTOMER_NUMBER,
        "Sorry we missed you: how can we help?",
    )
    shown = await client.get(f"/api/v1/messages/{sent.json()['id']}", headers=agent)
    assert shown.json()["delivery_status"] == "sent"


async def test_a_reply_by_voice_is_refused_with_the_reason_and_nothing_is_queued(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    called = await customer_writes(
        client, workspace, "voice", "phone", "+48601234567", "", call={"outcome": "voicemail"}
    )
    agent = await login(client, workspace.slug, "agent")

    refused = await client.post(
        f"/api/v1/conversations/{called['conversation_id']}/replies",
        json={"text": "Calling you back", "channel": "voice"},
        headers=agent,
    )

    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    detail = refused.json()["detail"]
    assert "a call carries no written reply" in detail and "sms or whatsapp" in detail
    assert await outbound_count(runtime) == 0


async def without_sms_inboxes(runtime: Runtime, ws: WorkspaceFixture) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        await session.execute(
            delete(t.Inbox).where(t.Inbox.workspace_id == ws.id, t.Inbox.channel == "sms")
        )


async def test_without_an_sms_inbox_whatsapp_takes_the_reply_while_its_window_is_open(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    await without_sms_inboxes(runtime, workspace)
    phone = "+48601234567"
    await customer_writes(client, workspace, "whatsapp", "phone", phone, "Hi on WhatsApp")
    clock.advance(timedelta(hours=2))
    called = await customer_writes(
        client, workspace, "voice", "phone", phone, "", call={"outcome": "missed"}
    )
    agent = await login(client, workspace.slug, "agent")

    options = await reply_options(client, agent, called["conversation_id"])
    assert options["default_channel"] == "whatsapp"
    sms = next(o for o in options["channels"] if o["channel"] == "sms")
    assert sms["available"] is False and "no sms inbox" in sms["reason"]
    sent = await client.post(
        f"/api/v1/conversations/{called['conversation_id']}/replies",
        json={"text": "We saw your call: how can we help?"},
        headers=agent,
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["channel"] == "whatsapp"


async def test_with_no_inbox_able_to_text_the_caller_reply_options_say_so(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    await without_sms_inboxes(runtime, workspace)
    # The caller never wrote on WhatsApp: its window is closed, so only a template could go.
    called = await customer_writes(
        client, workspace, "voice", "phone", "+48601234567", "", call={"outcome": "missed"}
    )
    agent = await login(client, workspace.slug, "agent")

    options = await reply_options(client, agent, called["conversation_id"])
    assert options["default_channel"] is None
    assert "voice" not in [o["channel"] for o in options["channels"]]
    reason = options["default_reason"]
    assert reason.startswith(
        "the customer last called from +48601234567, and no inbox can carry a written reply"
    )
    refused = await client.post(
        f"/api/v1/conversations/{called['conversation_id']}/replies",
        json={"text": "We saw your call"},
        headers=agent,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == reason
    assert await outbound_count(runtime) == 0
