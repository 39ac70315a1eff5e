"""REST API v1: the conversation list, replies, internal notes and agent actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import WorkspaceFixture, customer_writes
from tests.support.conversations_api import add_team, signed_in
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime

pytestmark = pytest.mark.anyio


async def listed(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[int]:
    response = await client.get("/api/v1/conversations", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


async def sms_conversation(client: httpx.AsyncClient, ws: WorkspaceFixture, text: str) -> int:
    """The id of the conversation a customer starts by texting `text` from +48601234567."""
    written = await customer_writes(client, ws, "sms", "phone", "+48601234567", text)
    return int(written["conversation_id"])


async def test_list_filters_each_narrow_the_list(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    sup = await signed_in(client, workspace, "super")
    team_id = await add_team(runtime, workspace, "Returns")
    sms = await customer_writes(client, workspace, "sms", "phone", "+48601234567", "a")
    clock.advance(timedelta(minutes=1))
    mail = await customer_writes(client, workspace, "email", "email", "ola@example.com", "b")
    clock.advance(timedelta(minutes=1))
    chat = await customer_writes(client, workspace, "web_chat", "web_visitor", "v-1", "c")
    a, b, c = sms["conversation_id"], mail["conversation_id"], chat["conversation_id"]

    base = f"/api/v1/conversations/{a}"
    assert (await client.post(f"{base}/status", json={"status": "pending"}, headers=sup)).is_success
    assign_b = await client.post(
        f"/api/v1/conversations/{b}/assign",
        json={"assignee_id": workspace.agent_id, "team_id": team_id},
        headers=sup,
    )
    assert assign_b.status_code == 200, assign_b.text
    labelled = await client.put(
        f"/api/v1/conversations/{c}/labels", json={"labels": ["refund", "vip"]}, headers=sup
    )
    assert labelled.status_code == 200, labelled.text

    assert await listed(client, sup) == [c, b, a]
    assert await listed(client, sup, status="pending") == [a]
    assert await listed(client, sup, status="open") == [c, b]
    assert await listed(client, sup, assignee_id=workspace.agent_id) == [b]
    assert await listed(client, sup, team_id=team_id) == [b]
    assert await listed(client, sup, channel="email") == [b]
    assert await listed(client, sup, channel="sms") == [a]
    assert await listed(client, sup, label="refund") == [c]
    assert await listed(client, sup, customer_id=sms["customer_id"]) == [a]
    assert await listed(client, sup, status="open", channel="sms") == []
    bad = await client.get("/api/v1/conversations", params={"status": "gone"}, headers=sup)
    assert bad.status_code == 422

    # Cursor paging walks the list in order, one conversation at a time.
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/conversations", params=params, headers=sup)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [c, b, a]


async def test_reply_defaults_to_the_channel_the_customer_last_wrote_on(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    agent = await signed_in(client, workspace, "agent")
    first = await customer_writes(
        client,
        workspace,
        "email",
        "email",
        "jan@example.com",
        "Where is my order?",
        other_identities=[{"kind": "phone", "value": "+48601234567"}],
    )
    clock.advance(timedelta(minutes=10))
    await customer_writes(client, workspace, "whatsapp", "phone", "+48601234567", "Any news?")
    conversation_id = first["conversation_id"]

    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/replies",
        json={"text": "It ships today."},
        headers=agent,
    )
    assert response.status_code == 201, response.text
    message = response.json()
    assert message["channel"] == "whatsapp"
    assert message["direction"] == "outbound"
    assert message["delivery_status"] == "queued"
    assert message["inbox_id"] == workspace.inboxes["whatsapp"]

    chosen = await client.post(
        f"/api/v1/conversations/{conversation_id}/replies",
        json={"text": "Details by email.", "channel": "email"},
        headers=agent,
    )
    assert chosen.status_code == 201, chosen.text
    assert chosen.json()["channel"] == "email"

    async with runtime.sessionmaker() as session:
        jobs = (
            (await session.execute(select(t.OutboundJob).order_by(t.OutboundJob.id)))
            .scalars()
            .all()
        )
    assert [j.message_id for j in jobs] == [message["id"], chosen.json()["id"]]
    assert all(j.status == "pending" for j in jobs)

    fetched = await client.get(f"/api/v1/messages/{message['id']}", headers=agent)
    assert fetched.status_code == 200
    assert fetched.json()["delivery_status"] == "queued"


async def test_reply_on_a_channel_without_an_identity_names_the_available_channels(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    agent = await signed_in(client, workspace, "agent")
    chat = await customer_writes(client, workspace, "sms", "phone", "+48601234567", "Hi")
    response = await client.post(
        f"/api/v1/conversations/{chat['conversation_id']}/replies",
        json={"text": "Shall I email you?", "channel": "email"},
        headers=agent,
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "no email identity" in detail
    assert "sms" in detail and "whatsapp" in detail
    # A call carries no written reply: voice is never named as a channel to reply on.
    assert "voice" not in detail


async def test_internal_note_is_in_the_thread_but_never_sent(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    agent = await signed_in(client, workspace, "agent")
    chat = await customer_writes(client, workspace, "web_chat", "web_visitor", "v-9", "Hello")
    clock.advance(timedelta(minutes=1))
    base = f"/api/v1/conversations/{chat['conversation_id']}"
    note = await client.post(
        f"{base}/notes", json={"text": "Customer is upset, be gentle"}, headers=agent
    )
    assert note.status_code == 201, note.text
    assert note.json()["direction"] == "note"
    assert note.json()["channel"] == "web_chat"
    assert note.json()["author_agent_id"] == workspace.agent_id

    thread = (await client.get(f"{base}/messages", headers=agent)).json()["items"]
    assert [(m["direction"], m["text"]) for m in thread] == [
        ("inbound", "Hello"),
        ("note", "Customer is upset, be gentle"),
    ]
    async with runtime.sessionmaker() as session:
        jobs = (await session.execute(select(t.OutboundJob))).scalars().all()
        outbound = (
            (await session.execute(select(t.Message).where(t.Message.direction == "outbound")))
            .scalars()
            .all()
        )
    assert jobs == [] and outbound == []


async def test_status_assign_priority_and_labels_round_trip(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    sup = await signed_in(client, workspace, "super")
    team_id = await add_team(runtime, workspace, "Billing")
    conversation_id = await sms_conversation(client, workspace, "Bill wrong")
    base = f"/api/v1/conversations/{conversation_id}"

    wrap_up = {"wrap_up_code": "solved", "summary": "Explained the warranty terms."}
    resolved = (
        await client.post(f"{base}/status", json={"status": "resolved", **wrap_up}, headers=sup)
    ).json()
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
    reopened = (await client.post(f"{base}/status", json={"status": "open"}, headers=sup)).json()
    assert reopened["status"] == "open" and reopened["resolved_at"] is None
    wake = (clock.now() + timedelta(days=1)).isoformat()
    snoozed = await client.post(
        f"{base}/status", json={"status": "snoozed", "snoozed_until": wake}, headers=sup
    )
    assert snoozed.status_code == 200, snoozed.text
    assert snoozed.json()["attributes"]["snoozed_until"] is not None
    past = (clock.now() - timedelta(days=1)).isoformat()
    late = await client.post(
        f"{base}/status", json={"status": "snoozed", "snoozed_until": past}, headers=sup
    )
    assert late.status_code == 422

    assigned = await client.post(
        f"{base}/assign",
        json={"assignee_id": workspace.agent_id, "team_id": team_id},
        headers=sup,
    )
    assert assigned.json()["assignee_id"] == workspace.agent_id
    assert assigned.json()["team_id"] == team_id
    # Leaving a field out keeps it; null clears it.
    cleared = (await client.post(f"{base}/assign", json={"team_id": None}, headers=sup)).json()
    assert cleared["assignee_id"] == workspace.agent_id and cleared["team_id"] is None

    urgent = await client.post(f"{base}/priority", json={"priority": "urgent"}, headers=sup)
    assert urgent.json()["priority"] == "urgent"
    bogus = await client.post(f"{base}/priority", json={"priority": "meh"}, headers=sup)
    assert bogus.status_code == 422

    labels = await client.put(
        f"{base}/labels", json={"labels": ["billing", " refund ", "billing"]}, headers=sup
    )
    assert labels.json()["labels"] == ["billing", "refund"]
    labels = await client.put(f"{base}/labels", json={"labels": ["refund"]}, headers=sup)
    assert labels.json()["labels"] == ["refund"]

    shown = (await client.get(base, headers=sup)).json()
    assert shown["status"] == "snoozed"
    assert shown["priority"] == "urgent"
    assert shown["assignee_id"] == workspace.agent_id
    assert shown["labels"] == ["refund"]
    assert shown["channels"] == ["sms"]
    async with runtime.sessionmaker() as session:
        known = (await session.execute(select(t.Label.name).order_by(t.Label.name))).scalars()
        events = (
            await session.execute(
                select(t.Event.type).where(t.Event.type == "conversation.updated")
            )
        ).scalars()
        assert list(known) == ["billing", "refund"]
        # One event per accepted change; refused ones left no trace.
        assert len(list(events)) == 8


async def test_a_plain_agent_may_take_a_conversation_but_not_hand_it_to_others(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    agent = await signed_in(client, workspace, "agent")
    admin = await signed_in(client, workspace, "admin")
    conversation_id = await sms_conversation(client, workspace, "Help")
    url = f"/api/v1/conversations/{conversation_id}/assign"

    to_other = await client.post(url, json={"assignee_id": workspace.admin_id}, headers=agent)
    assert to_other.status_code == 403
    assert "only to themselves" in to_other.json()["detail"]
    to_self = await client.post(url, json={"assignee_id": workspace.agent_id}, headers=agent)
    assert to_self.status_code == 200
    assert to_self.json()["assignee_id"] == workspace.agent_id

    by_admin = await client.post(url, json={"assignee_id": workspace.supervisor_id}, headers=admin)
    assert by_admin.json()["assignee_id"] == workspace.supervisor_id
    take_back = await client.post(url, json={"assignee_id": None}, headers=agent)
    assert take_back.status_code == 403


async def test_assigning_someone_outside_the_workspace_is_not_found(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, other_workspace: WorkspaceFixture
) -> None:
    admin = await signed_in(client, workspace, "admin")
    conversation_id = await sms_conversation(client, workspace, "Help")
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/assign",
        json={"assignee_id": other_workspace.agent_id},
        headers=admin,
    )
    assert response.status_code == 404


async def test_another_workspace_gets_not_found_for_every_conversation_route(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, other_workspace: WorkspaceFixture
) -> None:
    agent = await signed_in(client, workspace, "agent")
    outsider = await signed_in(client, other_workspace, "admin")
    inbound = await customer_writes(client, workspace, "sms", "phone", "+48601234567", "Hi")
    base = f"/api/v1/conversations/{inbound['conversation_id']}"
    reply = await client.post(f"{base}/replies", json={"text": "Hello"}, headers=agent)
    assert reply.status_code == 201

    attempts = [
        client.get(base, headers=outsider),
        client.get(f"{base}/messages", headers=outsider),
        client.post(f"{base}/status", json={"status": "resolved"}, headers=outsider),
        client.post(f"{base}/assign", json={"assignee_id": None}, headers=outsider),
        client.post(f"{base}/priority", json={"priority": "high"}, headers=outsider),
        client.put(f"{base}/labels", json={"labels": ["x"]}, headers=outsider),
        client.post(f"{base}/replies", json={"text": "spam"}, headers=outsider),
        client.post(f"{base}/notes", json={"text": "peek"}, headers=outsider),
        client.get(f"/api/v1/messages/{inbound['message_id']}", headers=outsider),
        client.get(f"/api/v1/messages/{reply.json()['id']}", headers=outsider),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 404, (response.request.url, response.text)
    assert await listed(client, outsider) == []
    assert (await client.get(base, headers=agent)).json()["status"] == "open"


async def route_to_the_vip_desk(
    client: httpx.AsyncClient,
    runtime: Runtime,
    ws: WorkspaceFixture,
    admin: dict[str, str],
    conversation_id: int,
) -> None:
    """To a team the agent is not in, so that agents seeing only their own do not see it."""
    team_id = await add_team(runtime, ws, "VIP desk")
    routed = await client.post(
        f"/api/v1/conversations/{conversation_id}/assign",
        json={"team_id": team_id},
        headers=admin,
    )
    assert routed.status_code == 200


async def let_agents_see_only_their_own(runtime: Runtime, ws: WorkspaceFixture) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        workspace = await session.get(t.Workspace, ws.id)
        assert workspace is not None
        workspace.agents_see_all = False


async def test_when_agents_see_only_their_own_the_list_and_timeline_follow(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    admin = await signed_in(client, workspace, "admin")
    agent = await signed_in(client, workspace, "agent")
    hidden = await customer_writes(client, workspace, "sms", "phone", "+48601234567", "Secret")
    shown = await customer_writes(client, workspace, "email", "email", "ola@example.com", "Hi")
    await route_to_the_vip_desk(client, runtime, workspace, admin, hidden["conversation_id"])
    await let_agents_see_only_their_own(runtime, workspace)

    assert await listed(client, agent) == [shown["conversation_id"]]
    hidden_url = f"/api/v1/conversations/{hidden['conversation_id']}"
    assert (await client.get(hidden_url, headers=agent)).status_code == 404
    message_url = f"/api/v1/messages/{hidden['message_id']}"
    assert (await client.get(message_url, headers=agent)).status_code == 404
    timeline = await client.get(
        f"/api/v1/customers/{hidden['customer_id']}/timeline", headers=agent
    )
    assert timeline.json()["items"] == []
    assert await listed(client, admin) == [shown["conversation_id"], hidden["conversation_id"]]


async def test_when_agents_see_only_their_own_tasks_of_hidden_conversations_are_hidden_too(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    admin = await signed_in(client, workspace, "admin")
    agent = await signed_in(client, workspace, "agent")
    hidden = await customer_writes(client, workspace, "sms", "phone", "+48601234567", "Secret")
    await route_to_the_vip_desk(client, runtime, workspace, admin, hidden["conversation_id"])

    async def task(title: str, **extra: Any) -> int:
        created = await client.post(
            "/api/v1/tasks",
            headers=admin,
            json={"title": title, "due_at": "2026-11-03T09:00:00Z", **extra},
        )
        assert created.status_code == 201, created.text
        return int(created.json()["id"])

    vip_callback = await task("Call the VIP back", conversation_id=hidden["conversation_id"])
    given_to_olek = await task(
        "Olek: check the VIP's order",
        conversation_id=hidden["conversation_id"],
        assignee_id=workspace.agent_id,
    )
    general = await task("Restock the FAQ", customer_id=hidden["customer_id"])
    await let_agents_see_only_their_own(runtime, workspace)

    seen = {row["id"] for row in (await client.get("/api/v1/tasks", headers=agent)).json()}
    assert seen == {given_to_olek, general}
    edit = await client.patch(f"/api/v1/tasks/{vip_callback}", headers=agent, json={"note": "x"})
    assert edit.status_code == 404, edit.text
    everything = {row["id"] for row in (await client.get("/api/v1/tasks", headers=admin)).json()}
    assert everything == {vip_callback, given_to_olek, general}
