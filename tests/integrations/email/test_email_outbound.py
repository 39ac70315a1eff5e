"""Email replies leave through a real SMTP server with the headers that make the customer's
client thread them, are retried on temporary refusals, fail clearly on permanent ones, and
the customer's answer comes back into the same conversation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parseaddr

import pytest
from sqlalchemy import select

from tests.conftest import WorkspaceFixture
from tests.support.delivery import agent_replies, deliver
from tests.support.email_inbound import stored_message
from tests.support.inboxes import local_relay, set_inbox
from tests.support.smtp_sink import PERMANENT, TEMPORARY, SmtpSink, free_port, running_smtp_sink
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.delivery.outbound import DeliveryPolicy, deliver_due
from threadline.integrations.email.addresses import reply_address
from threadline.integrations.email.ingest import ingest_raw_email
from threadline.integrations.senders import build_outbound_adapters

pytestmark = pytest.mark.anyio

POLICY = DeliveryPolicy(lease=timedelta(seconds=60), max_attempts=4, backoff_seconds=10)
INBOX_ADDRESS = "support@acme.example.com"
CUSTOMER = "jane@customer.example"
REPLY = "A new one is on its way.\n\nOlek"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with running_smtp_sink() as running:
        yield running


def customer_mail(
    message_id: str,
    *,
    subject: str = "Broken kettle",
    to: str = INBOX_ADDRESS,
    cc: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    text: str = "My kettle stopped working after two days.",
) -> bytes:
    lines = [
        f"From: Jane Doe <{CUSTOMER}>",
        f"To: {to}",
        *([f"Cc: {cc}"] if cc else []),
        f"Subject: {subject}",
        f"Message-ID: <{message_id}>",
        *([f"In-Reply-To: {in_reply_to}"] if in_reply_to else []),
        *([f"References: {references}"] if references else []),
        "Date: Mon, 02 Nov 2026 08:00:00 +0000",
        "Content-Type: text/plain; charset=utf-8",
        "",
        text,
        "",
    ]
    return "\r\n".join(lines).encode()


async def point_email_inbox_at(
    runtime: Runtime, ws: WorkspaceFixture, port: int
) -> tuple[int, str]:
    """Give the email inbox its address and relay; returns (inbox id, inbox secret)."""
    inbox_id = ws.inboxes["email"]
    async with runtime.sessionmaker() as session:
        await set_inbox(session, inbox_id, address=INBOX_ADDRESS, settings=local_relay(port))
        await session.commit()
        inbox = await session.get(t.Inbox, inbox_id)
        assert inbox is not None and inbox.secret
        return inbox_id, inbox.secret


async def first_contact(runtime: Runtime, ws: WorkspaceFixture, sink: SmtpSink) -> tuple[int, str]:
    """The customer writes in; returns (conversation id, inbox secret)."""
    inbox_id, secret = await point_email_inbox_at(runtime, ws, sink.port)
    got = await ingest_raw_email(
        runtime,
        inbox_id,
        customer_mail("k1@customer.example", references="<k0@customer.example>"),
        envelope_recipients=[INBOX_ADDRESS],
    )
    assert got.stored and got.conversation_id is not None, got.rejection
    return got.conversation_id, secret


def body_parts(mail: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in mail.iter_parts()}


async def test_a_reply_leaves_with_the_headers_that_thread_it(
    runtime: Runtime, workspace: WorkspaceFixture, sink: SmtpSink
) -> None:
    conversation_id, secret = await first_contact(runtime, workspace, sink)
    message_id = await agent_replies(runtime, workspace, conversation_id, REPLY)

    report = await deliver(runtime, POLICY)

    assert report.sent == 1, report.failures
    [received] = sink.received
    assert received.mail_from == INBOX_ADDRESS
    assert received.rcpt_tos == [CUSTOMER]
    mail = received.message
    assert parseaddr(mail["From"]) == ("Olek Agent via Acme Support", INBOX_ADDRESS)
    assert mail["To"] == CUSTOMER
    assert mail["Reply-To"] == reply_address(INBOX_ADDRESS, conversation_id, secret)
    assert mail["Subject"] == "Re: Broken kettle"
    assert mail["In-Reply-To"] == "<k1@customer.example>"
    assert mail["References"] == "<k0@customer.example> <k1@customer.example>"
    assert mail["X-Threadline-Loop"] == INBOX_ADDRESS
    our_id = mail["Message-ID"]
    assert our_id.startswith("<") and our_id.endswith("@acme.example.com>")
    parts = body_parts(mail)
    assert parts["text/plain"].replace("\r\n", "\n").strip() == "A new one is on its way.\n\nOlek"
    assert "<p>A new one is on its way.</p>" in parts["text/html"]

    sent = await stored_message(runtime, message_id)
    assert sent.delivery_status == "sent"
    assert sent.provider_message_id == our_id.strip("<>")
    assert (await deliver(runtime, POLICY)).claimed == 0
    assert len(sink.received) == 1


async def test_temporary_refusals_are_retried_and_the_mail_is_delivered_once(
    runtime: Runtime, workspace: WorkspaceFixture, sink: SmtpSink, clock: ManualClock
) -> None:
    conversation_id, _ = await first_contact(runtime, workspace, sink)
    message_id = await agent_replies(runtime, workspace, conversation_id, REPLY)
    sink.refuse_next(TEMPORARY, times=2)

    first = await deliver(runtime, POLICY)
    assert first.retrying == 1
    queued = await stored_message(runtime, message_id)
    assert queued.delivery_status == "queued"
    assert "451" in queued.meta["last_delivery_error"]
    clock.advance(timedelta(seconds=10))
    assert (await deliver(runtime, POLICY)).retrying == 1
    clock.advance(timedelta(seconds=20))
    assert (await deliver(runtime, POLICY)).sent == 1

    assert sink.attempts == 3
    [received] = sink.received
    sent = await stored_message(runtime, message_id)
    assert sent.delivery_status == "sent"
    assert sent.provider_message_id == received.message["Message-ID"].strip("<>")
    clock.advance(timedelta(hours=1))
    assert (await deliver(runtime, POLICY)).claimed == 0
    assert len(sink.received) == 1


async def test_a_permanent_refusal_fails_the_message_with_the_servers_reason(
    runtime: Runtime, workspace: WorkspaceFixture, sink: SmtpSink
) -> None:
    conversation_id, _ = await first_contact(runtime, workspace, sink)
    message_id = await agent_replies(runtime, workspace, conversation_id, REPLY)
    sink.refuse_next(PERMANENT)

    report = await deliver(runtime, POLICY)

    assert report.failed == 1
    failed = await stored_message(runtime, message_id)
    assert failed.delivery_status == "failed"
    assert failed.failure_reason is not None
    assert "550" in failed.failure_reason and "No such user here" in failed.failure_reason
    assert sink.received == []


async def test_an_unreachable_relay_is_retried_later(
    runtime: Runtime, workspace: WorkspaceFixture, sink: SmtpSink
) -> None:
    conversation_id, _ = await first_contact(runtime, workspace, sink)
    await point_email_inbox_at(runtime, workspace, free_port())  # nobody listens there
    message_id = await agent_replies(runtime, workspace, conversation_id, REPLY)

    report = await deliver(runtime, POLICY)

    assert report.retrying == 1
    queued = await stored_message(runtime, message_id)
    assert queued.delivery_status == "queued"
    assert "could not reach the SMTP relay" in queued.meta["last_delivery_error"]


async def second_open_matter(runtime: Runtime, ws: WorkspaceFixture, conversation_id: int) -> int:
    """The same customer has a newer open conversation: without threading, mail joins it."""
    async with runtime.uow() as uow:
        first = await uow.session.get(t.Conversation, conversation_id)
        assert first is not None
        now = uow.clock.now() + timedelta(minutes=5)
        other = t.Conversation(
            workspace_id=ws.id,
            customer_id=first.customer_id,
            subject="Invoice address",
            status="open",
            priority="normal",
            attributes={},
            last_message_at=now,
            created_at=now,
        )
        uow.session.add(other)
        await uow.session.flush()
        other_id = other.id
        await uow.commit()
    return other_id


async def our_reply_then_another_matter(
    runtime: Runtime, ws: WorkspaceFixture, sink: SmtpSink
) -> tuple[int, EmailMessage, int]:
    """The customer writes, our reply goes out through the sink, and the customer opens a
    second matter: the first conversation, our mail as sent, and the second conversation."""
    conversation_id, _ = await first_contact(runtime, ws, sink)
    await agent_replies(runtime, ws, conversation_id, REPLY)
    assert (await deliver(runtime, POLICY)).sent == 1
    ours = sink.received[0].message
    return conversation_id, ours, await second_open_matter(runtime, ws, conversation_id)


@pytest.mark.parametrize("our_address_in", ["to", "cc"])
async def test_the_customers_answer_threads_back_to_the_conversation(
    runtime: Runtime, workspace: WorkspaceFixture, sink: SmtpSink, our_address_in: str
) -> None:
    conversation_id, ours, other_id = await our_reply_then_another_matter(runtime, workspace, sink)

    to, cc = (
        (INBOX_ADDRESS, None)
        if our_address_in == "to"
        else ("husband@customer.example", ours["Reply-To"])
    )
    answer = customer_mail(
        "k2@customer.example",
        subject="Re: Broken kettle",
        to=to,
        cc=cc,
        in_reply_to=ours["Message-ID"],
        references=f"{ours['References']} {ours['Message-ID']}",
        text="Thank you!",
    )
    got = await ingest_raw_email(runtime, workspace.inboxes["email"], answer)

    assert got.stored and not got.duplicate, got.rejection
    assert got.conversation_id == conversation_id != other_id


async def test_an_answer_without_thread_headers_threads_by_the_reply_address_in_cc(
    runtime: Runtime, workspace: WorkspaceFixture, sink: SmtpSink
) -> None:
    conversation_id, ours, other_id = await our_reply_then_another_matter(runtime, workspace, sink)

    # A client that drops In-Reply-To/References; our reply address only in Cc.
    answer = customer_mail(
        "k3@customer.example",
        subject="kettle",
        to="husband@customer.example",
        cc=ours["Reply-To"],
        text="Any news?",
    )
    got = await ingest_raw_email(runtime, workspace.inboxes["email"], answer)

    assert got.stored, got.rejection
    assert got.conversation_id == conversation_id != other_id
    async with runtime.sessionmaker() as session:
        stored = (
            await session.execute(
                select(t.Message).where(t.Message.provider_message_id == "k3@customer.example")
            )
        ).scalar_one()
    assert stored.conversation_id == conversation_id


async def test_inboxes_without_their_own_relay_use_the_configured_one(
    runtime: Runtime, workspace: WorkspaceFixture, sink: SmtpSink
) -> None:
    conversation_id, _ = await first_contact(runtime, workspace, sink)
    async with runtime.sessionmaker() as session:
        await set_inbox(session, workspace.inboxes["email"], settings={})
        await session.commit()
    first_id = await agent_replies(runtime, workspace, conversation_id, REPLY)

    # No relay anywhere: the agent is told what to configure.
    assert (await deliver(runtime, POLICY)).failed == 1
    unsent = await stored_message(runtime, first_id)
    assert unsent.failure_reason is not None and "smtp_host" in unsent.failure_reason

    relay = runtime.settings.model_copy(
        update={
            "smtp_relay_host": "127.0.0.1",
            "smtp_relay_port": sink.port,
            "smtp_relay_starttls": False,
        }
    )
    second_id = await agent_replies(runtime, workspace, conversation_id, REPLY)
    adapters = build_outbound_adapters(relay)
    report = await deliver_due(runtime.uow, adapters, POLICY, runtime.clock.now())

    assert report.sent == 1, report.failures
    [received] = sink.received
    assert received.rcpt_tos == [CUSTOMER]
    # Without a display name the inbox's own name stands in From.
    assert parseaddr(received.message["From"]) == ("Olek Agent via email inbox", INBOX_ADDRESS)
    assert (await stored_message(runtime, second_id)).delivery_status == "sent"
