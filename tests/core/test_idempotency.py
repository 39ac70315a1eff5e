"""Idempotency under concurrency: a provider's retries and a customer's bursts store once.

Providers redeliver webhooks (timeouts, retries, at-least-once queues), often at the same
moment. However many times one provider message arrives, it is one message, one customer and
one conversation, and subscribers hear about it once.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import WorkspaceFixture
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.conversations.receive import ReceivedMessage, receive_message
from threadline.domain.channels import Channel, IdentityKind
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity

pytestmark = pytest.mark.anyio

DELIVERIES = 10


def sms_from(ws: WorkspaceFixture, phone: str, text: str, provider_id: str) -> InboundMessage:
    return InboundMessage(
        inbox_id=ws.inboxes["sms"],
        sender=SenderIdentity(IdentityKind.PHONE, phone),
        channel=Channel.SMS,
        text=text,
        provider_message_id=provider_id,
    )


async def stored_counts(runtime: Runtime, workspace_id: int) -> dict[str, int]:
    async with runtime.sessionmaker() as session:
        counts = {}
        for model in (t.Customer, t.Identity, t.Conversation, t.Message):
            counts[model.__tablename__] = (
                await session.execute(
                    select(func.count())
                    .select_from(model)
                    .where(model.workspace_id == workspace_id)
                )
            ).scalar_one()
        return counts


async def message_created_ids(runtime: Runtime, workspace_id: int) -> list[int]:
    """Ids of the messages announced by message.created events, in announcement order."""
    async with runtime.sessionmaker() as session:
        payloads = (
            await session.execute(
                select(t.Event.payload)
                .where(t.Event.workspace_id == workspace_id, t.Event.type == "message.created")
                .order_by(t.Event.seq)
            )
        ).scalars()
        return [payload["message"]["id"] for payload in payloads]


async def test_one_provider_message_delivered_ten_times_at_once_is_stored_once(
    runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    inbound = sms_from(workspace, "+48 601 234 567", "Where is my order?", "SM-redelivered-1")

    results: list[ReceivedMessage] = await asyncio.gather(
        *(receive_message(runtime.uow, workspace.id, inbound) for _ in range(DELIVERIES))
    )

    assert len({r.message_id for r in results}) == 1
    assert len({r.conversation_id for r in results}) == 1
    assert len({r.customer_id for r in results}) == 1
    assert sorted(r.duplicate for r in results) == [False] + [True] * (DELIVERIES - 1)
    assert await stored_counts(runtime, workspace.id) == {
        "customers": 1,
        "identities": 1,
        "conversations": 1,
        "messages": 1,
    }
    assert await message_created_ids(runtime, workspace.id) == [results[0].message_id]


async def test_redeliveries_to_a_known_customer_race_on_the_message_itself(
    runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    # The customer and the conversation exist, so the only thing left to race on is the
    # message row (its provider id is unique per inbox).
    first = await receive_message(
        runtime.uow, workspace.id, sms_from(workspace, "+48601234567", "Hi", "SM-first")
    )
    inbound = sms_from(workspace, "601 234 567", "Is it shipped?", "SM-redelivered-2")

    results = await asyncio.gather(
        *(receive_message(runtime.uow, workspace.id, inbound) for _ in range(DELIVERIES))
    )

    assert len({r.message_id for r in results}) == 1
    assert {r.conversation_id for r in results} == {first.conversation_id}
    assert sorted(r.duplicate for r in results) == [False] + [True] * (DELIVERIES - 1)
    assert (await stored_counts(runtime, workspace.id))["messages"] == 2
    assert await message_created_ids(runtime, workspace.id) == [
        first.message_id,
        results[0].message_id,
    ]


async def test_ten_simultaneous_webhook_posts_of_one_message_store_it_once(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    body: dict[str, Any] = {
        "inbox_id": workspace.inboxes["email"],
        "channel": "email",
        "sender": {"kind": "email", "value": "Ola@Example.com"},
        "subject": "Refund",
        "text": "I would like a refund",
        "provider_message_id": "<refund-1@mail.example.com>",
    }

    responses = await asyncio.gather(
        *(
            client.post(
                "/api/v1/inbound/messages", headers={"X-API-Key": workspace.api_key}, json=body
            )
            for _ in range(DELIVERIES)
        )
    )

    assert [r.status_code for r in responses] == [201] * DELIVERIES, [r.text for r in responses]
    answers = [r.json() for r in responses]
    assert len({a["message_id"] for a in answers}) == 1
    assert len({a["customer_id"] for a in answers}) == 1
    assert sorted(a["duplicate"] for a in answers) == [False] + [True] * (DELIVERIES - 1)
    assert await stored_counts(runtime, workspace.id) == {
        "customers": 1,
        "identities": 1,
        "conversations": 1,
        "messages": 1,
    }
    assert await message_created_ids(runtime, workspace.id) == [answers[0]["message_id"]]


async def test_a_burst_from_a_new_customer_opens_one_customer_and_one_conversation(
    runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    # The same person types the number differently in each message; all are one identity.
    written = ["+48601234567", "601 234 567", "0048 601-234-567", "(601) 234 567", "601.234.567"]
    burst = [
        sms_from(workspace, written[n % len(written)], f"part {n}", f"SM-burst-{n}")
        for n in range(DELIVERIES)
    ]

    results = await asyncio.gather(*(receive_message(runtime.uow, workspace.id, m) for m in burst))

    assert not any(r.duplicate for r in results)
    assert len({r.message_id for r in results}) == DELIVERIES
    assert len({r.customer_id for r in results}) == 1
    assert len({r.conversation_id for r in results}) == 1
    assert await stored_counts(runtime, workspace.id) == {
        "customers": 1,
        "identities": 1,
        "conversations": 1,
        "messages": DELIVERIES,
    }
    assert sorted(await message_created_ids(runtime, workspace.id)) == sorted(
        r.message_id for r in results
    )


async def test_a_burst_over_http_from_a_new_customer_is_one_conversation(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    async def post(n: int) -> httpx.Response:
        return await client.post(
            "/api/v1/inbound/messages",
            headers={"X-API-Key": workspace.api_key},
            json={
                "inbox_id": workspace.inboxes["web_chat"],
                "channel": "web_chat",
                "sender": {"kind": "web_visitor", "value": "visitor-7f3a"},
                "text": f"chat line {n}",
                "provider_message_id": f"chat-{n}",
            },
        )

    responses = await asyncio.gather(*(post(n) for n in range(DELIVERIES)))

    assert [r.status_code for r in responses] == [201] * DELIVERIES, [r.text for r in responses]
    answers = [r.json() for r in responses]
    assert len({a["customer_id"] for a in answers}) == 1
    assert len({a["conversation_id"] for a in answers}) == 1
    counts = await stored_counts(runtime, workspace.id)
    assert counts["customers"] == 1
    assert counts["conversations"] == 1
    assert counts["messages"] == DELIVERIES
