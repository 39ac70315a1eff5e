"""Continuity: one customer and, while the matter is open, one conversation across channels."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import WorkspaceFixture, customer_writes
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime

pytestmark = pytest.mark.anyio


async def resolved_now(runtime: Runtime, clock: ManualClock, conversation_id: int) -> str:
    """Resolves the conversation in the database (how is not what these tests are about);
    the status it had before."""
    async with runtime.sessionmaker() as session, session.begin():
        conversation = await session.get(t.Conversation, conversation_id)
        assert conversation is not None
        before = conversation.status
        conversation.status = "resolved"
        conversation.resolved_at = clock.now()
        return before


async def test_call_then_email_then_chat_is_one_conversation_in_order(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    call = await customer_writes(
        client,
        workspace,
        "voice",
        "phone",
        "+48 601 234 567",
        "Called about a broken kettle",
        other_identities=[{"kind": "email", "value": "Jan.Kowalski@Example.COM"}],
        call={"outcome": "answered", "duration_seconds": 240},
    )
    clock.advance(timedelta(minutes=30))
    email = await customer_writes(
        client, workspace, "email", "email", " jan.kowalski@example.com ", "Photos of the kettle"
    )
    clock.advance(timedelta(minutes=30))
    # The chat visitor is known by phone this time, written the local way.
    chat = await customer_writes(client, workspace, "web_chat", "phone", "601-234-567", "Any news?")

    assert call["customer_id"] == email["customer_id"] == chat["customer_id"]
    assert call["conversation_id"] == email["conversation_id"] == chat["conversation_id"]

    async with runtime.sessionmaker() as session:
        channels = (
            (
                await session.execute(
                    select(t.Message.channel)
                    .where(t.Message.conversation_id == call["conversation_id"])
                    .order_by(t.Message.created_at, t.Message.id)
                )
            )
            .scalars()
            .all()
        )
    assert channels == ["voice", "email", "web_chat"]


async def test_after_resolve_and_reopen_window_a_new_conversation_starts(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    first = await customer_writes(client, workspace, "sms", "phone", "+48601234567", "Order 1 late")
    await resolved_now(runtime, clock, first["conversation_id"])
    async with runtime.sessionmaker() as session:
        window = (await session.get(t.Workspace, workspace.id)).reopen_window_seconds  # type: ignore[union-attr]

    clock.advance(timedelta(seconds=window - 60))
    reopened = await customer_writes(
        client, workspace, "email", "phone", "+48601234567", "Still late"
    )
    assert reopened["conversation_id"] == first["conversation_id"]

    assert await resolved_now(runtime, clock, first["conversation_id"]) == "open"

    clock.advance(timedelta(seconds=window + 60))
    later = await customer_writes(client, workspace, "sms", "phone", "+48601234567", "New matter")
    assert later["conversation_id"] != first["conversation_id"]
    assert later["customer_id"] == first["customer_id"]


async def test_an_auto_reply_is_recorded_but_does_not_reopen_or_change_the_reply_channel(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    first = await customer_writes(client, workspace, "sms", "phone", "+48601234567", "Where is it?")
    await resolved_now(runtime, clock, first["conversation_id"])

    clock.advance(timedelta(minutes=5))
    auto = await customer_writes(
        client, workspace, "email", "phone", "+48601234567", "I am out of office", automated=True
    )
    assert auto["conversation_id"] == first["conversation_id"]
    async with runtime.sessionmaker() as session:
        conversation = await session.get(t.Conversation, first["conversation_id"])
        assert conversation is not None
        assert conversation.status == "resolved"
        assert conversation.last_inbound_channel == "sms"
        message = await session.get(t.Message, auto["message_id"])
        assert message is not None and message.meta["automated"] is True
