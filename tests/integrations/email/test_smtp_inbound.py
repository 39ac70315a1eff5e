"""The built-in SMTP server, spoken to over a real socket with aiosmtplib.

250 means stored; unknown recipients are refused at RCPT; replies thread back to our
outbound mail by In-Reply-To or by the per-conversation reply address; automated mail
never re-opens; a redelivered Message-ID stores nothing new.
"""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta

import aiosmtplib
import pytest
from sqlalchemy import select, update

from tests.conftest import WorkspaceFixture
from tests.support.email_inbound import (
    SUPPORT_ADDRESS,
    count_messages,
    give_email_inbox_an_address,
    simple_mail,
    stored_conversation,
)
from tests.support.email_smtp import send_mail
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.conversations.replies import ReplyRequest, reply
from threadline.domain.security.access import Principal, Role
from threadline.entrypoints.api.app import start_background_workers
from threadline.entrypoints.smtp_server import SmtpServerHandle
from threadline.integrations.email.addresses import reply_address

pytestmark = pytest.mark.anyio

CUSTOMER = "jane@customer.example"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def send(
    smtp: SmtpServerHandle, raw: bytes, to: list[str], sender: str = CUSTOMER
) -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
    return await send_mail(smtp, sender, to, raw)


def customer_mail(message_id: str, **headers: str) -> bytes:
    extra = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    return simple_mail(
        sender=CUSTOMER,
        message_id=f"<{message_id}>",
        subject="Broken kettle",
        body=f"Message {message_id}",
        extra_headers=extra,
    )


async def outbound_reply(runtime: Runtime, ws: WorkspaceFixture, conversation_id: int) -> str:
    """An agent's reply, marked sent as the outbound worker does; returns its Message-ID."""
    principal = Principal(workspace_id=ws.id, role=Role.AGENT, agent_id=ws.agent_id)
    async with runtime.uow() as uow:
        message = await reply(uow, principal, ReplyRequest(conversation_id, "On its way."))
        await uow.commit()
    provider_id = f"reply.{message.id}@acme.example.com"
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(t.Message)
            .where(t.Message.id == message.id)
            .values(provider_message_id=provider_id, delivery_status="sent")
        )
        await session.commit()
    return provider_id


async def resolve(runtime: Runtime, conversation_id: int) -> None:
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(t.Conversation)
            .where(t.Conversation.id == conversation_id)
            .values(status="resolved", resolved_at=runtime.clock.now())
        )
        await session.commit()


async def latest_message(runtime: Runtime, workspace_id: int) -> t.Message:
    async with runtime.sessionmaker() as session:
        return (
            await session.execute(
                select(t.Message)
                .where(t.Message.workspace_id == workspace_id)
                .order_by(t.Message.id.desc())
                .limit(1)
            )
        ).scalar_one()


async def test_mail_for_an_inbox_is_stored_when_250_comes_back(
    runtime: Runtime, workspace: WorkspaceFixture, smtp: SmtpServerHandle
) -> None:
    await give_email_inbox_an_address(runtime, workspace)
    errors, answer = await send(smtp, customer_mail("first@customer.example"), [SUPPORT_ADDRESS])
    assert errors == {} and "stored" in answer
    message = await latest_message(runtime, workspace.id)
    assert message.text == "Message first@customer.example"
    assert message.sender_identity == CUSTOMER
    assert message.provider_message_id == "first@customer.example"


async def test_unknown_recipient_is_refused_at_rcpt_and_nothing_is_stored(
    runtime: Runtime, workspace: WorkspaceFixture, smtp: SmtpServerHandle
) -> None:
    await give_email_inbox_an_address(runtime, workspace)
    async with aiosmtplib.SMTP(hostname=smtp.host, port=smtp.port, start_tls=False) as client:
        await client.mail(CUSTOMER)
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
            await client.rcpt("nobody@acme.example.com")
        assert refused.value.code == 550
        assert "no Threadline inbox" in refused.value.message
        # The inbox's +subaddress form is its own address.
        accepted = await client.rcpt("Support+anything@ACME.example.com")
        assert accepted.code == 250
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await send(smtp, customer_mail("lost@customer.example"), ["sales@acme.example.com"])
    assert await count_messages(runtime, workspace.id) == 0


async def test_replies_to_our_mail_join_that_conversation_not_the_newer_one(
    runtime: Runtime, workspace: WorkspaceFixture, smtp: SmtpServerHandle, clock: ManualClock
) -> None:
    inbox = await give_email_inbox_an_address(runtime, workspace)
    await send(smtp, customer_mail("a1@customer.example"), [SUPPORT_ADDRESS])
    old = (await latest_message(runtime, workspace.id)).conversation_id
    our_mail_id = await outbound_reply(runtime, workspace, old)
    await resolve(runtime, old)
    # Long after the re-open window the customer starts a new matter...
    clock.advance(timedelta(days=30))
    await send(smtp, customer_mail("b1@customer.example"), [SUPPORT_ADDRESS])
    new = (await latest_message(runtime, workspace.id)).conversation_id
    assert new != old
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(t.Workspace)
            .where(t.Workspace.id == workspace.id)
            .values(reopen_window_seconds=90 * 24 * 3600)
        )
        await session.commit()

    # ...and then answers our old mail: In-Reply-To names it.
    await send(
        smtp,
        customer_mail("a2@customer.example", In_Reply_To=f"<{our_mail_id}>"),
        [SUPPORT_ADDRESS],
    )
    assert (await latest_message(runtime, workspace.id)).conversation_id == old
    assert (await stored_conversation(runtime, old)).status == "open"

    # A client that dropped the thread headers, with our reply address only in Cc.
    await resolve(runtime, old)
    token_address = reply_address(SUPPORT_ADDRESS, old, inbox.secret or "")
    await send(
        smtp,
        customer_mail("a3@customer.example", Cc=token_address),
        [SUPPORT_ADDRESS, token_address],
    )
    assert (await latest_message(runtime, workspace.id)).conversation_id == old

    # No thread at all: the customer's active matter.
    await send(smtp, customer_mail("b2@customer.example"), [SUPPORT_ADDRESS])
    assert (await latest_message(runtime, workspace.id)).conversation_id == new


async def test_out_of_office_reply_does_not_reopen_a_resolved_conversation(
    runtime: Runtime, workspace: WorkspaceFixture, smtp: SmtpServerHandle
) -> None:
    await give_email_inbox_an_address(runtime, workspace)
    await send(smtp, customer_mail("c1@customer.example"), [SUPPORT_ADDRESS])
    conversation_id = (await latest_message(runtime, workspace.id)).conversation_id
    our_mail_id = await outbound_reply(runtime, workspace, conversation_id)
    await resolve(runtime, conversation_id)
    out_of_office = simple_mail(
        sender=CUSTOMER,
        subject="Automatic reply: Broken kettle",
        message_id="<oof-1@customer.example>",
        body="I am out of the office until Monday.",
        extra_headers=f"Auto-Submitted: auto-replied\r\nIn-Reply-To: <{our_mail_id}>\r\n",
    )
    errors, _ = await send(smtp, out_of_office, [SUPPORT_ADDRESS], sender="")
    assert errors == {}
    stored = await latest_message(runtime, workspace.id)
    assert stored.conversation_id == conversation_id and stored.meta["automated"] is True
    conversation = await stored_conversation(runtime, conversation_id)
    assert conversation.status == "resolved"
    assert conversation.last_inbound_at is not None
    # The customer's own mail is still the latest inbound one (SLA clocks do not move).
    async with runtime.sessionmaker() as session:
        first = (
            await session.execute(
                select(t.Message).where(t.Message.provider_message_id == "c1@customer.example")
            )
        ).scalar_one()
    assert conversation.last_inbound_at == first.created_at


async def test_redelivery_of_the_same_message_id_stores_nothing_new(
    runtime: Runtime, workspace: WorkspaceFixture, smtp: SmtpServerHandle
) -> None:
    await give_email_inbox_an_address(runtime, workspace)
    raw = customer_mail("again@customer.example")
    _, first = await send(smtp, raw, [SUPPORT_ADDRESS])
    count = await count_messages(runtime, workspace.id)
    _, second = await send(smtp, raw, [SUPPORT_ADDRESS])
    assert "already stored" in second and "already" not in first
    assert await count_messages(runtime, workspace.id) == count == 1


async def test_refusals_answer_5xx_with_the_reason(
    runtime: Runtime, workspace: WorkspaceFixture, smtp: SmtpServerHandle
) -> None:
    await give_email_inbox_an_address(runtime, workspace)
    runtime.settings.max_attachment_bytes = 10
    big = (
        "From: Jane <jane@customer.example>\r\nTo: support@acme.example.com\r\n"
        "Subject: photo\r\nMessage-ID: <big@customer.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\n'
        "see photo\r\n--x\r\nContent-Type: image/jpeg\r\n"
        'Content-Disposition: attachment; filename="photo.jpg"\r\n\r\n'
        + "j" * 100
        + "\r\n--x--\r\n"
    ).encode()
    with pytest.raises(aiosmtplib.SMTPDataError) as too_big:
        await send(smtp, big, [SUPPORT_ADDRESS])
    assert too_big.value.code == 552 and "photo.jpg" in too_big.value.message
    looping = customer_mail("loop@customer.example", X_Threadline_Loop=SUPPORT_ADDRESS)
    with pytest.raises(aiosmtplib.SMTPDataError) as loop:
        await send(smtp, looping, [SUPPORT_ADDRESS])
    assert loop.value.code == 550 and "mail loop" in loop.value.message
    assert await count_messages(runtime, workspace.id) == 0


async def test_serve_starts_the_smtp_server_when_enabled(
    runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    unused_tcp_port = free_port()
    runtime.settings.smtp_enabled = True
    runtime.settings.smtp_port = unused_tcp_port
    workers = await start_background_workers(runtime)
    try:
        for _ in range(50):
            try:
                async with aiosmtplib.SMTP(
                    hostname="127.0.0.1", port=unused_tcp_port, start_tls=False
                ) as client:
                    code, _ = await client.noop()
                    assert code == 250
                    break
            except aiosmtplib.SMTPConnectError:
                await asyncio.sleep(0.05)
        else:
            pytest.fail("the SMTP server did not start")
    finally:
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
