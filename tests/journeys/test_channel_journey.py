"""One customer across every channel, end to end through the real webhooks and real local
provider servers: a missed call plans a callback, then an SMS, a contact form (which gives us
their email address), an email reply threaded to our outbound mail, a WhatsApp template
outside the window and an SMS inside it all make one customer and one conversation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path

import aiosmtplib
import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import WorkspaceFixture, login
from tests.support.email_inbound import SUPPORT_ADDRESS, simple_mail
from tests.support.inboxes import local_relay, set_inbox
from tests.support.meta import configure_meta, send_key
from tests.support.meta_graph import GraphServer, running_graph
from tests.support.meta_workspace import assert_cloud_api_call, cloud_api_body, template_content
from tests.support.smtp_sink import SmtpSink, running_smtp_sink
from tests.support.twilio import (
    OUR_NUMBER,
    FakeTwilio,
    configure_twilio_inbox,
    fixture_pairs,
    post_signed,
)
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.delivery.outbound import DeliveryReport
from threadline.domain.channels import Channel
from threadline.entrypoints.outbound_worker import deliver_once
from threadline.entrypoints.smtp_server import SmtpServerHandle
from threadline.integrations.senders import build_outbound_adapters
from threadline.workspace.create import create_inbox

pytestmark = pytest.mark.anyio

PHONE = "+48601234567"
EMAIL = "jan.kowalski@example.com"
CALL_SID = "CA0123456789abcdef0123456789abcdef"
SMS_SID = "SM0123456789abcdef0123456789abcdef"
PUBLIC_BASE = "http://threadline.test"  # what Twilio signs, and where status callbacks go


@pytest.fixture
def graph() -> Iterator[GraphServer]:
    with running_graph() as server:
        yield server


@pytest.fixture
def relay() -> Iterator[SmtpSink]:
    with running_smtp_sink() as sink:
        yield sink


def from_customer(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A Twilio fixture as sent from the customer's Polish mobile number."""
    return [(k, PHONE if k in {"From", "Caller"} else v) for k, v in pairs]


async def configure_channels(
    runtime: Runtime,
    ws: WorkspaceFixture,
    twilio: FakeTwilio,
    graph: GraphServer,
    relay: SmtpSink,
    tmp_path: Path,
) -> int:
    """Twilio number on the SMS and voice inboxes, WhatsApp Cloud API, the email inbox's
    address and relay, and a website contact form; returns the form inbox id."""
    for channel in ("sms", "voice"):
        await configure_twilio_inbox(runtime, ws.inboxes[channel])
    runtime.settings.twilio_api_base = twilio.url
    runtime.settings.public_base_url = PUBLIC_BASE
    await configure_meta(runtime, ws, graph, tmp_path)
    async with runtime.uow() as uow:
        await set_inbox(
            uow.session,
            ws.inboxes["email"],
            address=SUPPORT_ADDRESS,
            settings=local_relay(relay.port),
        )
        form = await create_inbox(uow, ws.id, name="Website form", channel=Channel.FORM)
        await uow.commit()
    return form.id


async def run_outbound_worker_once(runtime: Runtime) -> DeliveryReport:
    async with httpx.AsyncClient(timeout=5) as http:
        return await deliver_once(runtime, build_outbound_adapters(runtime.settings, http))


async def count(runtime: Runtime, model: type[t.Base]) -> int:
    async with runtime.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_missed_call_sms_email_whatsapp_and_sms_are_one_customer_one_conversation(
    runtime: Runtime,
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    clock: ManualClock,
    twilio: FakeTwilio,
    graph: GraphServer,
    relay: SmtpSink,
    smtp: SmtpServerHandle,
    tmp_path: Path,
) -> None:
    form_inbox = await configure_channels(runtime, workspace, twilio, graph, relay, tmp_path)
    voice_inbox, sms_inbox = workspace.inboxes["voice"], workspace.inboxes["sms"]
    agent = await login(client, workspace.slug, "agent")

    # 1. The customer calls; nobody answers. A callback is planned for an hour later.
    call = from_customer(fixture_pairs("voice_inbound.form"))
    call = [(k, CALL_SID if k == "CallSid" else v) for k, v in call]
    answered = await post_signed(client, f"/webhooks/twilio/{voice_inbox}/voice", call)
    assert answered.status_code == 200, answered.text
    assert answered.headers["content-type"].startswith("application/xml")
    clock.advance(timedelta(seconds=30))
    no_answer = from_customer(fixture_pairs("call_status_no-answer.form", CALL_SID=CALL_SID))
    missed = await post_signed(client, f"/webhooks/twilio/{voice_inbox}/voice-status", no_answer)
    assert missed.status_code == 200, missed.text

    [task] = (await client.get("/api/v1/tasks", headers=agent)).json()
    assert task["kind"] == "callback" and task["status"] == "open" and task["channel"] == "voice"
    assert task["due_at"] == (clock.now() + timedelta(hours=1)).isoformat()
    assert PHONE in task["title"] and not task["overdue"]
    conversation_id = task["conversation_id"]
    customer_id = task["customer_id"]

    # 2. Minutes later the customer texts from the same number.
    clock.advance(timedelta(minutes=4))
    sms = from_customer(fixture_pairs("sms_inbound.form"))
    sms = [(k, SMS_SID if k.endswith("Sid") and v.startswith("SM") else v) for k, v in sms]
    texted = await post_signed(client, f"/webhooks/twilio/{sms_inbox}/sms", sms)
    assert texted.status_code == 200, texted.text

    # The customer leaves their email on the website's contact form, phone included: the
    # address joins the customer the phone number already names.
    clock.advance(timedelta(minutes=3))
    submitted = await client.post(
        f"/forms/{form_inbox}",
        json={
            "name": "Jan Kowalski",
            "email": "Jan.Kowalski@Example.com",
            "phone": "+48 601 234 567",
            "subject": "Order 1042",
            "message": "Please email me the tracking details.",
        },
    )
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["conversation_id"] == conversation_id

    # 3. The agent answers by email; the worker hands it to the relay.
    clock.advance(timedelta(minutes=2))
    by_email = await client.post(
        f"/api/v1/conversations/{conversation_id}/replies",
        headers=agent,
        json={"text": "Tracking: PL123456789. Olek", "channel": "email"},
    )
    assert by_email.status_code == 201, by_email.text
    assert (await run_outbound_worker_once(runtime)).sent == 1
    [mail] = relay.received
    assert mail.rcpt_tos == [EMAIL]
    ours = mail.message
    assert parseaddr(ours["From"])[1] == SUPPORT_ADDRESS
    our_message_id = ours["Message-ID"]

    # ...and the customer answers it, through our SMTP server, threaded by In-Reply-To.
    clock.advance(timedelta(minutes=10))
    answer = simple_mail(
        sender=EMAIL,
        subject=f"Re: {ours['Subject']}",
        body="Thanks, and can you also send the invoice?",
        message_id="<answer-1@example.com>",
        extra_headers=f"In-Reply-To: {our_message_id}\r\nReferences: {our_message_id}\r\n",
    )
    async with aiosmtplib.SMTP(hostname=smtp.host, port=smtp.port, start_tls=False) as mailer:
        refused, _ = await mailer.sendmail(EMAIL, [SUPPORT_ADDRESS], answer)
    assert refused == {}  # 250: stored before the server said so

    # 4. WhatsApp: the customer never wrote there, so free text is refused up front...
    clock.advance(timedelta(minutes=5))
    replies = f"/api/v1/conversations/{conversation_id}/replies"
    plain = await client.post(
        replies, headers=agent, json={"text": "Invoice attached", "channel": "whatsapp"}
    )
    assert plain.status_code == 422
    assert plain.json()["detail"] == (
        "the customer has not written on WhatsApp yet, so no WhatsApp window is open; "
        "send an approved template instead"
    )
    # ...and an approved template goes out in the Cloud API's template format.
    template = await client.post(
        replies,
        headers=agent,
        json={
            "text": "Order 1042: invoice sent",
            "channel": "whatsapp",
            "template": {
                "name": "order_update",
                "language": "en_US",
                "parameters": ["1042", "invoice sent"],
            },
        },
    )
    assert template.status_code == 201, template.text
    assert (await run_outbound_worker_once(runtime)).sent == 1
    [send] = graph.sends()
    assert_cloud_api_call(send)
    assert send.body == await cloud_api_body(
        runtime,
        template.json()["id"],
        "template",
        template_content("order_update", "en_US", "1042", "invoice sent"),
    )

    # 5. SMS has no window: the agent texts back; Twilio gets its Messages form.
    clock.advance(timedelta(minutes=1))
    by_sms = await client.post(
        replies, headers=agent, json={"text": "Calling you at 11, Olek", "channel": "sms"}
    )
    assert by_sms.status_code == 201, by_sms.text
    assert (await run_outbound_worker_once(runtime)).sent == 1
    [posted] = twilio.messages_posted()
    assert posted.authorized
    assert posted.form == {
        "To": PHONE,
        "From": OUR_NUMBER,
        "Body": "Calling you at 11, Olek",
        "StatusCallback": (
            f"{PUBLIC_BASE}/webhooks/twilio/{sms_inbox}/sms-status"
            f"?key={await send_key(runtime, by_sms.json()['id'])}"
        ),
    }
    sms_reply = f"/api/v1/messages/{by_sms.json()['id']}"
    sent = (await client.get(sms_reply, headers=agent)).json()
    assert sent["delivery_status"] == "sent" and sent["provider_message_id"]
    delivered = [
        (k, PHONE if k == "To" else v)
        for k, v in fixture_pairs("sms_status_delivered.form", SID=sent["provider_message_id"])
    ]
    callback = await post_signed(client, f"/webhooks/twilio/{sms_inbox}/sms-status", delivered)
    assert callback.status_code == 200, callback.text
    assert (await client.get(sms_reply, headers=agent)).json()["delivery_status"] == "delivered"

    # 6. One customer with both addresses; one conversation holding the whole story.
    assert await count(runtime, t.Customer) == 1
    assert await count(runtime, t.Conversation) == 1
    card = (await client.get(f"/api/v1/customers/{customer_id}", headers=agent)).json()
    assert card["conversations"]["total"] == 1
    assert [k["kind"] for k in card["open_tasks"]] == ["callback"]
    assert sorted((i["kind"], i["value"]) for i in card["customer"]["identities"]) == [
        ("email", EMAIL),
        ("phone", PHONE),
    ]
    timeline = (
        await client.get(f"/api/v1/customers/{customer_id}/timeline", headers=agent)
    ).json()["items"]
    story = [(m["channel"], m["direction"], m["conversation_id"]) for m in reversed(timeline)]
    assert story == [
        ("voice", "inbound", conversation_id),
        ("sms", "inbound", conversation_id),
        ("form", "inbound", conversation_id),
        ("email", "outbound", conversation_id),
        ("email", "inbound", conversation_id),
        ("whatsapp", "outbound", conversation_id),
        ("sms", "outbound", conversation_id),
    ]
    call_entry, customer_sms, _, our_email, customer_email, whatsapp, our_sms = reversed(timeline)
    assert call_entry["call"]["outcome"] == "missed"
    assert customer_sms["sender_identity"] == PHONE
    assert customer_email["sender_identity"] == EMAIL
    assert customer_email["text"].startswith("Thanks, and can you also send the invoice?")
    # The thread link: the answer's In-Reply-To is the id our outbound mail was sent under.
    assert our_email["provider_message_id"] == our_message_id.strip("<>")
    assert customer_email["meta"]["email"]["in_reply_to"] == [our_email["provider_message_id"]]
    assert whatsapp["delivery_status"] == "sent"
    assert our_sms["delivery_status"] == "delivered"
