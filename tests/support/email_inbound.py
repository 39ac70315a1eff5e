"""Helpers for the inbound email tests: an email inbox with a real address, stored rows."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.conftest import WorkspaceFixture
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime

SUPPORT_ADDRESS = "support@acme.example.com"


async def give_email_inbox_an_address(
    runtime: Runtime, workspace: WorkspaceFixture, address: str = SUPPORT_ADDRESS
) -> t.Inbox:
    async with runtime.sessionmaker() as session:
        inbox = await session.get(t.Inbox, workspace.inboxes["email"])
        assert inbox is not None
        inbox.address = address
        await session.commit()
        await session.refresh(inbox)
        return inbox


async def stored_message(runtime: Runtime, message_id: int) -> t.Message:
    async with runtime.sessionmaker() as session:
        message = await session.get(t.Message, message_id)
        assert message is not None
        return message


async def stored_conversation(runtime: Runtime, conversation_id: int) -> t.Conversation:
    async with runtime.sessionmaker() as session:
        conversation = await session.get(t.Conversation, conversation_id)
        assert conversation is not None
        return conversation


async def count_messages(runtime: Runtime, workspace_id: int) -> int:
    async with runtime.sessionmaker() as session:
        return int(
            (
                await session.execute(
                    select(func.count())
                    .select_from(t.Message)
                    .where(t.Message.workspace_id == workspace_id)
                )
            ).scalar_one()
        )


def simple_mail(
    *,
    sender: str = "customer@example.net",
    to: str = SUPPORT_ADDRESS,
    subject: str = "Hello",
    body: str = "Where is my order?",
    message_id: str | None = "<m1@example.net>",
    extra_headers: str = "",
) -> bytes:
    lines = [f"From: Customer <{sender}>", f"To: {to}", f"Subject: {subject}"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    text = "\r\n".join(lines) + "\r\n" + extra_headers
    text += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
    return text.encode()
