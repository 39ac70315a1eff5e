"""Merging two customers (continuity rule 4): audited, visible at once, and undone exactly."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import WorkspaceFixture, customer_writes, login
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.conversations.receive import receive_message
from threadline.customers.merge import merge_customers
from threadline.domain.channels import IdentityKind
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.domain.security.access import Principal, Role

pytestmark = pytest.mark.anyio

ANNA_EMAIL = "anna.nowak@example.com"
JAN_PHONE = "+48601234567"


@dataclass(frozen=True)
class Holdings:
    """Everything a customer owns, as the database sees it."""

    identities: frozenset[tuple[str, str]]
    conversations: frozenset[int]
    messages: frozenset[int]
    notes: frozenset[int]
    offers: frozenset[int]
    tasks: frozenset[int]


async def holdings(runtime: Runtime, customer_id: int) -> Holdings:
    async with runtime.sessionmaker() as session:

        async def ids(model: Any) -> frozenset[int]:
            rows = await session.execute(select(model.id).where(model.customer_id == customer_id))
            return frozenset(rows.scalars())

        identities = await session.execute(
            select(t.Identity.kind, t.Identity.value).where(t.Identity.customer_id == customer_id)
        )
        messages = await session.execute(
            select(t.Message.id)
            .join(t.Conversation, t.Conversation.id == t.Message.conversation_id)
            .where(t.Conversation.customer_id == customer_id)
        )
        return Holdings(
            identities=frozenset((kind, value) for kind, value in identities.all()),
            conversations=await ids(t.Conversation),
            messages=frozenset(messages.scalars()),
            notes=await ids(t.Note),
            offers=await ids(t.Offer),
            tasks=await ids(t.Task),
        )


async def customer_row(runtime: Runtime, customer_id: int) -> t.Customer:
    async with runtime.sessionmaker() as session:
        customer = await session.get(t.Customer, customer_id)
        assert customer is not None
        return customer


async def give_profile(
    runtime: Runtime,
    ws: WorkspaceFixture,
    customer_id: int,
    conversation_id: int,
    *,
    name: str | None,
    attributes: dict[str, Any],
    note: str,
    with_offer_and_task: bool = False,
) -> None:
    """What agents would have recorded on the customer: a note, maybe an offer and a task."""
    async with runtime.sessionmaker() as session, session.begin():
        now = runtime.clock.now()
        customer = await session.get(t.Customer, customer_id)
        assert customer is not None
        customer.name = name
        customer.attributes = attributes
        session.add(
            t.Note(
                workspace_id=ws.id,
                customer_id=customer_id,
                author_agent_id=ws.agent_id,
                text=note,
                created_at=now,
            )
        )
        if with_offer_and_task:
            session.add(
                t.Offer(
                    workspace_id=ws.id,
                    customer_id=customer_id,
                    conversation_id=conversation_id,
                    agent_id=ws.agent_id,
                    product="Kettle K2",
                    price="199.00",
                    currency="PLN",
                    channel="sms",
                    status="proposed",
                    created_at=now,
                )
            )
            session.add(
                t.Task(
                    workspace_id=ws.id,
                    customer_id=customer_id,
                    conversation_id=conversation_id,
                    kind="follow_up",
                    title="Call back about the kettle",
                    channel="voice",
                    due_at=now + timedelta(hours=1),
                    status="open",
                    created_at=now,
                )
            )


@dataclass
class TwoCustomers:
    anna: int  # known by email
    jan: int  # known by phone
    jan_conversations: list[int]


async def two_customers(
    client: httpx.AsyncClient, runtime: Runtime, ws: WorkspaceFixture, clock: ManualClock
) -> TwoCustomers:
    anna = await customer_writes(client, ws, "email", "email", "Anna.Nowak@Example.com", "Invoice?")
    await customer_writes(client, ws, "email", "email", ANNA_EMAIL, "Any news on the invoice?")
    clock.advance(timedelta(minutes=5))
    jan_old = await customer_writes(client, ws, "sms", "phone", JAN_PHONE, "Kettle broken")
    # Jan's first matter was resolved long ago (beyond the re-open window); his next message
    # starts a new one. (The clock is not moved weeks ahead: sign-in tokens would look
    # issued in the future.)
    async with runtime.sessionmaker() as session, session.begin():
        conversation = await session.get(t.Conversation, jan_old["conversation_id"])
        assert conversation is not None
        conversation.status = "resolved"
        conversation.resolved_at = clock.now() - timedelta(days=60)
    clock.advance(timedelta(minutes=5))
    jan_new = await customer_writes(
        client, ws, "voice", "phone", "601 234 567", "Calling about it again"
    )
    await customer_writes(client, ws, "sms", "phone", "0048601234567", "Please call me back")
    assert jan_new["conversation_id"] != jan_old["conversation_id"]
    assert anna["customer_id"] != jan_new["customer_id"]

    await give_profile(
        runtime,
        ws,
        anna["customer_id"],
        anna["conversation_id"],
        name=None,
        attributes={"tier": "gold"},
        note="Prefers email",
    )
    await give_profile(
        runtime,
        ws,
        jan_new["customer_id"],
        jan_new["conversation_id"],
        name="Jan Kowalski",
        attributes={"tier": "silver", "city": "Kraków"},
        note="Has four children",
        with_offer_and_task=True,
    )
    return TwoCustomers(
        anna["customer_id"],
        jan_new["customer_id"],
        [jan_old["conversation_id"], jan_new["conversation_id"]],
    )


async def merge_into(
    client: httpx.AsyncClient, headers: dict[str, str], target: int, source: int
) -> httpx.Response:
    """Asks for customer `source` to be merged into customer `target`."""
    return await client.post(
        f"/api/v1/customers/{target}/merge",
        headers=headers,
        json={"source_customer_id": source},
    )


async def event_payloads(runtime: Runtime, ws: WorkspaceFixture, type_: str) -> list[Any]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(t.Event.payload)
            .where(t.Event.workspace_id == ws.id, t.Event.type == type_)
            .order_by(t.Event.seq)
        )
        return list(rows.scalars())


async def test_merge_then_undo_restores_both_customers_exactly(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    people = await two_customers(client, runtime, workspace, clock)
    anna_before = await holdings(runtime, people.anna)
    jan_before = await holdings(runtime, people.jan)
    assert len(jan_before.messages) == 3 and len(anna_before.messages) == 2

    supervisor = await login(client, workspace.slug, "super")
    response = await merge_into(client, supervisor, people.anna, people.jan)
    assert response.status_code == 201, response.text
    merge = response.json()
    assert merge["source_customer_id"] == people.jan
    assert merge["target_customer_id"] == people.anna
    assert merge["actor_agent_id"] == workspace.supervisor_id
    assert sorted(merge["moved"]["conversations"]) == sorted(people.jan_conversations)

    # One customer now holds everything of both.
    merged = await holdings(runtime, people.anna)
    assert merged.identities == anna_before.identities | jan_before.identities
    assert merged.conversations == anna_before.conversations | jan_before.conversations
    assert merged.messages == anna_before.messages | jan_before.messages
    assert merged.notes == anna_before.notes | jan_before.notes
    assert merged.offers == jan_before.offers and merged.tasks == jan_before.tasks
    assert await holdings(runtime, people.jan) == Holdings(*[frozenset()] * 6)
    anna_row = await customer_row(runtime, people.anna)
    assert anna_row.name == "Jan Kowalski"  # Anna's profile had no name
    assert anna_row.attributes == {"tier": "gold", "city": "Kraków"}  # the target wins
    assert (await customer_row(runtime, people.jan)).merged_into_id == people.anna

    # Jan writes again from his phone: it reaches the merged customer.
    clock.advance(timedelta(minutes=10))
    later = await customer_writes(
        client, workspace, "whatsapp", "phone", "+48 601-234-567", "Hello?"
    )
    assert later["customer_id"] == people.anna
    # An address the merged customer gains after the merge is the merged customer's own.
    anna_later = await customer_writes(
        client,
        workspace,
        "email",
        "email",
        ANNA_EMAIL,
        "From my new phone",
        other_identities=[{"kind": "phone", "value": "+48 501 111 222"}],
    )

    admin = await login(client, workspace.slug, "admin")
    undone = await client.post(f"/api/v1/merges/{merge['id']}/undo", headers=admin)
    assert undone.status_code == 200, undone.text
    assert undone.json()["undone_by_agent_id"] == workspace.admin_id
    assert undone.json()["undone_at"] is not None

    anna_after = await holdings(runtime, people.anna)
    jan_after = await holdings(runtime, people.jan)
    assert jan_after.identities == jan_before.identities
    assert anna_after.identities == anna_before.identities | {("phone", "+48501111222")}
    assert jan_after.conversations == jan_before.conversations
    assert anna_after.conversations == anna_before.conversations
    # While merged, both wrote into the merged customer's latest open matter, Jan's; those
    # messages follow that conversation back to Jan. Everything else is as before.
    assert later["conversation_id"] == anna_later["conversation_id"] == people.jan_conversations[1]
    assert jan_after.messages == jan_before.messages | {
        later["message_id"],
        anna_later["message_id"],
    }
    assert anna_after.messages == anna_before.messages
    assert (jan_after.notes, jan_after.offers, jan_after.tasks) == (
        jan_before.notes,
        jan_before.offers,
        jan_before.tasks,
    )
    assert anna_after.notes == anna_before.notes
    anna_row = await customer_row(runtime, people.anna)
    jan_row = await customer_row(runtime, people.jan)
    assert (anna_row.name, anna_row.attributes) == (None, {"tier": "gold"})
    assert (jan_row.name, jan_row.attributes) == (
        "Jan Kowalski",
        {"tier": "silver", "city": "Kraków"},
    )
    assert jan_row.merged_into_id is None

    # Jan's phone reaches Jan again.
    again = await customer_writes(client, workspace, "sms", "phone", JAN_PHONE, "Thanks")
    assert again["customer_id"] == people.jan

    # The audit trail keeps the merge and its undo.
    listed = await client.get(f"/api/v1/merges?customer_id={people.jan}", headers=supervisor)
    assert listed.status_code == 200, listed.text
    assert [m["id"] for m in listed.json()["items"]] == [merge["id"]]
    fetched = (await client.get(f"/api/v1/merges/{merge['id']}", headers=supervisor)).json()
    assert fetched["actor_agent_id"] == workspace.supervisor_id
    assert fetched["undone_by_agent_id"] == workspace.admin_id
    merged_events = await event_payloads(runtime, workspace, "customer.merged")
    unmerged_events = await event_payloads(runtime, workspace, "customer.unmerged")
    assert [e["merge"]["id"] for e in merged_events] == [merge["id"]]
    assert [e["merge"]["id"] for e in unmerged_events] == [merge["id"]]

    twice = await client.post(f"/api/v1/merges/{merge['id']}/undo", headers=admin)
    assert twice.status_code == 409
    assert "already undone" in twice.json()["detail"]


async def test_only_supervisors_and_admins_merge_and_undo(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    people = await two_customers(client, runtime, workspace, clock)
    agent = await login(client, workspace.slug, "agent")
    refused = await merge_into(client, agent, people.anna, people.jan)
    assert refused.status_code == 403
    by_key = await merge_into(client, {"X-API-Key": workspace.api_key}, people.anna, people.jan)
    assert by_key.status_code == 403
    assert (await customer_row(runtime, people.jan)).merged_into_id is None

    admin = await login(client, workspace.slug, "admin")
    merge = await merge_into(client, admin, people.anna, people.jan)
    assert merge.status_code == 201, merge.text
    undo = await client.post(f"/api/v1/merges/{merge.json()['id']}/undo", headers=agent)
    assert undo.status_code == 403
    assert (await customer_row(runtime, people.jan)).merged_into_id == people.anna


async def test_merge_refuses_self_merged_away_and_unknown_customers(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    people = await two_customers(client, runtime, workspace, clock)
    third = await customer_writes(client, workspace, "web_chat", "web_visitor", "visitor-9", "Hi")
    supervisor = await login(client, workspace.slug, "super")

    async def merge(target: int, source: int) -> httpx.Response:
        return await merge_into(client, supervisor, target, source)

    assert (await merge(people.anna, people.anna)).status_code == 422
    assert (await merge(people.anna, 999_999)).status_code == 404
    assert (await merge(people.anna, people.jan)).status_code == 201
    again = await merge(third["customer_id"], people.jan)
    assert again.status_code == 409
    assert "already merged" in again.json()["detail"]
    assert (await merge(people.jan, third["customer_id"])).status_code == 409


async def test_other_workspaces_customers_and_merges_are_not_found(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    other_workspace: WorkspaceFixture,
    clock: ManualClock,
) -> None:
    people = await two_customers(client, runtime, workspace, clock)
    outsider = await customer_writes(
        client, other_workspace, "sms", "phone", JAN_PHONE, "Globex here"
    )
    acme = await login(client, workspace.slug, "super")
    globex = await login(client, other_workspace.slug, "super")

    cross = await merge_into(client, acme, people.anna, outsider["customer_id"])
    assert cross.status_code == 404
    foreign = await merge_into(client, globex, people.anna, people.jan)
    assert foreign.status_code == 404

    merge = await merge_into(client, acme, people.anna, people.jan)
    assert merge.status_code == 201
    merge_id = merge.json()["id"]
    assert (await client.get(f"/api/v1/merges/{merge_id}", headers=globex)).status_code == 404
    assert (await client.post(f"/api/v1/merges/{merge_id}/undo", headers=globex)).status_code == 404
    listed = await client.get(f"/api/v1/merges?customer_id={people.anna}", headers=globex)
    assert listed.status_code == 404
    assert (await client.get("/api/v1/merges", headers=globex)).json()["items"] == []
    # Globex's customer with the same phone number was never touched.
    assert (await customer_row(runtime, outsider["customer_id"])).merged_into_id is None
    assert (await holdings(runtime, outsider["customer_id"])).identities == {("phone", JAN_PHONE)}


async def test_messages_arriving_during_a_merge_end_up_on_the_merged_customer(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    people = await two_customers(client, runtime, workspace, clock)
    supervisor = Principal(workspace.id, Role.SUPERVISOR, workspace.supervisor_id)

    async def merge() -> None:
        async with runtime.uow() as uow:
            await merge_customers(uow, supervisor, people.jan, people.anna)
            await uow.commit()

    burst = [
        receive_message(
            runtime.uow,
            workspace.id,
            InboundMessage(
                inbox_id=workspace.inboxes["sms"],
                sender=SenderIdentity(IdentityKind.PHONE, JAN_PHONE),
                text=f"are you there? {n}",
                provider_message_id=f"SM-during-merge-{n}",
            ),
        )
        for n in range(6)
    ]
    await asyncio.gather(*burst[:3], merge(), *burst[3:])

    # Nothing was left behind on (or created for) the customer that was merged away.
    assert await holdings(runtime, people.jan) == Holdings(*[frozenset()] * 6)
    merged = await holdings(runtime, people.anna)
    assert len(merged.messages) == 2 + 3 + 6


async def test_orders_move_with_a_merge_and_return_on_undo(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    people = await two_customers(client, runtime, workspace, clock)
    shop = {"X-API-Key": workspace.api_key}
    supervisor = await login(client, workspace.slug, "super")
    placed = "2026-10-01T12:00:00+00:00"

    async def order_numbers(customer_id: int) -> list[str]:
        response = await client.get(f"/api/v1/customers/{customer_id}/orders", headers=supervisor)
        assert response.status_code == 200, response.text
        return sorted(o["number"] for o in response.json())

    async def record(customer_id: int, number: str) -> httpx.Response:
        return await client.post(
            f"/api/v1/customers/{customer_id}/orders",
            headers=shop,
            json={"number": number, "placed_at": placed, "items": [{"sku": "KET-100"}]},
        )

    assert (await record(people.jan, "SO-JAN")).status_code == 201
    assert (await record(people.anna, "SO-ANNA")).status_code == 201

    merge = await merge_into(client, supervisor, people.anna, people.jan)
    assert merge.status_code == 201, merge.text
    assert await order_numbers(people.anna) == ["SO-ANNA", "SO-JAN"]
    assert await order_numbers(people.jan) == []
    assert len(merge.json()["moved"]["orders"]) == 1
    # The shop may still know the merged-away customer's id; its orders go to neither.
    late = await record(people.jan, "SO-LATE")
    assert late.status_code == 409
    assert f"merged into {people.anna}" in late.json()["detail"]
    assert await order_numbers(people.anna) == ["SO-ANNA", "SO-JAN"]

    undone = await client.post(f"/api/v1/merges/{merge.json()['id']}/undo", headers=supervisor)
    assert undone.status_code == 200, undone.text
    assert await order_numbers(people.jan) == ["SO-JAN"]
    assert await order_numbers(people.anna) == ["SO-ANNA"]
