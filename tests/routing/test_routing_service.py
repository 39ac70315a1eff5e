"""Auto-assignment in the database: the agent a supervisor would pick, with the reason stored;
never over capacity; freed capacity and agents coming online pull from the queue."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.conftest import WorkspaceFixture, login
from tests.support.routing import (
    add_agent,
    add_handled_history,
    arrive,
    assignee_of,
    history,
    make_team,
    resolve,
    set_mode,
    set_presence,
    skill_inbox,
)
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.domain.channels import Channel

pytestmark = pytest.mark.anyio


async def test_each_assignment_is_the_one_a_supervisor_would_expect(
    runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    ws = workspace.id
    basia = await add_agent(
        runtime, ws, "Basia Billing", skills={"billing": 9}, competences={"web_chat": 8, "email": 6}
    )
    tomek = await add_agent(
        runtime,
        ws,
        "Tomek Tech",
        skills={"tech": 9, "billing": 3},
        competences={"web_chat": 9, "email": 9},
    )
    ewa = await add_agent(
        runtime,
        ws,
        "Ewa Email",
        skills={"billing": 6, "tech": 6},
        competences={"email": 10, "web_chat": 2},
    )
    billing_chat = await skill_inbox(runtime, ws, "billing chat", Channel.WEB_CHAT, {"billing": 5})
    tech_mail = await skill_inbox(runtime, ws, "tech mail", Channel.EMAIL, {"tech": 5})
    await set_mode(runtime, ws, "auto")

    # Billing on chat: Basia knows billing best and is good on chat; Tomek lacks the skill.
    anna = await arrive(runtime, ws, billing_chat, Channel.WEB_CHAT, "visitor-anna")
    assert await assignee_of(runtime, anna) == basia
    [first] = await history(runtime, anna)
    assert first.mode == "auto" and first.channel == "web_chat" and first.cost == 25
    assert first.reason.startswith("Basia Billing: skills billing 9; web_chat competence 8")
    assert "ahead of Ewa Email" in first.reason
    assert "Tomek Tech (billing level 3 below the required 5)" in first.reason

    # A technical email: Tomek (tech 9, email 9) before Ewa (tech 6, email 10); not Basia.
    carl = await arrive(runtime, ws, tech_mail, Channel.EMAIL, "carl@example.com")
    assert await assignee_of(runtime, carl) == tomek
    [tech] = await history(runtime, carl)
    assert "skills tech 9" in tech.reason and "Basia Billing (tech level 0" in tech.reason

    # Carl's matter is resolved; eight days later (past the re-open window) he writes to the
    # general mailbox: Tomek, who handled him, gets it although Ewa is better on email.
    await resolve(runtime, ws, carl)
    [released] = await history(runtime, carl)
    assert released.released_at == clock.now()
    clock.advance(timedelta(days=8))
    carl_again = await arrive(
        runtime, ws, workspace.inboxes["email"], Channel.EMAIL, "carl@example.com"
    )
    assert carl_again != carl
    assert await assignee_of(runtime, carl_again) == tomek
    [again] = await history(runtime, carl_again)
    assert again.reason.startswith("Tomek Tech: handled this customer 1 time(s) before")

    # Anna writes again on her open chat: it stays with Basia, no second assignment.
    await arrive(runtime, ws, billing_chat, Channel.WEB_CHAT, "visitor-anna")
    assert [a.agent_id for a in await history(runtime, anna)] == [basia]

    # Resolved and re-opened within the window: back to Basia, recorded as a re-open.
    await resolve(runtime, ws, anna)
    clock.advance(timedelta(hours=1))
    assert await arrive(runtime, ws, billing_chat, Channel.WEB_CHAT, "visitor-anna") == anna
    rows = await history(runtime, anna)
    assert [(a.agent_id, a.mode, a.released_at is None) for a in rows] == [
        (basia, "auto", False),
        (basia, "reopen", True),
    ]
    assert ewa not in {a.agent_id for a in rows}


async def test_capacity_three_chats_and_one_email_then_the_queue_waits(
    runtime: Runtime, workspace: WorkspaceFixture, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    ws = workspace.id
    chat, mail = workspace.inboxes["web_chat"], workspace.inboxes["email"]
    await set_mode(runtime, ws, "auto")
    olga = await add_agent(runtime, ws, "Olga Online", capacity={"budget": 100}, online=False)

    # Nobody is online: three chats and an email wait in queue order.
    chats = []
    for number in range(3):
        chats.append(await arrive(runtime, ws, chat, Channel.WEB_CHAT, f"visitor-{number}"))
        clock.advance(timedelta(seconds=10))
    email = await arrive(runtime, ws, mail, Channel.EMAIL, "mail@example.com")
    headers = await login(client, workspace.slug, "agent")

    async def place(conversation_id: int) -> dict[str, object]:
        url = f"/api/v1/conversations/{conversation_id}/queue-position"
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    position = await place(chats[1])
    assert (position["waiting"], position["position"], position["queue_length"]) == (True, 2, 4)
    # Nobody has handled a chat yet (and nobody is online): no estimate, not a made-up one.
    assert position["estimated_wait_seconds"] is None

    # Olga comes online and is offered the waiting work: three chats (75) and one email (20).
    await set_presence(runtime, ws, olga, online=True)
    for conversation in [*chats, email]:
        assert await assignee_of(runtime, conversation) == olga
    async with runtime.uow() as uow:
        load = await uow.session.get(t.AgentLoad, olga)
        assert load is not None
        assert (load.load, load.open_work) == (95, {"web_chat": 3, "email": 1})

    # A further chat and email find nobody with room: they wait, and know their place.
    late_chat = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "visitor-late")
    late_email = await arrive(runtime, ws, mail, Channel.EMAIL, "late@example.com")
    assert await assignee_of(runtime, late_chat) is None
    assert await assignee_of(runtime, late_email) is None
    assert (await place(late_chat))["position"] == 1
    assert (await place(late_email))["position"] == 2
    assert (await place(chats[0]))["waiting"] is False

    # Resolving a chat frees 25: the waiting chat is assigned at once; the email (95 + 20)
    # still does not fit.
    clock.advance(timedelta(minutes=4))
    await resolve(runtime, ws, chats[0])
    assert await assignee_of(runtime, late_chat) == olga
    assert await assignee_of(runtime, late_email) is None
    [queued] = await history(runtime, late_chat)
    assert queued.mode == "queue" and queued.reason.startswith(
        "next in the queue when Olga Online had room"
    )
    # The finished chat took 4 minutes, which says nothing about how long an email takes: the
    # email's wait is estimated from email history only, and there is none yet.
    position = await place(late_email)
    assert (position["position"], position["handling_samples"]) == (1, 0)
    assert position["estimated_wait_seconds"] is None


async def test_a_team_conversation_counts_only_the_team_for_its_wait(
    runtime: Runtime, workspace: WorkspaceFixture, client: httpx.AsyncClient
) -> None:
    # Routing is manual (the default): the chat waits for someone to pick it.
    ws = workspace.id
    olga = await add_agent(runtime, ws, "Olga Online")
    await add_agent(runtime, ws, "Piotr Elsewhere")
    billing = await make_team(runtime, ws, "Billing", [olga])
    await add_handled_history(runtime, ws, olga, Channel.WEB_CHAT, [timedelta(minutes=5)] * 5)
    chat = await arrive(runtime, ws, workspace.inboxes["web_chat"], Channel.WEB_CHAT, "v-1")
    async with runtime.uow() as uow:
        conversation = await uow.session.get(t.Conversation, chat)
        assert conversation is not None
        conversation.team_id = billing
        await uow.commit()

    headers = await login(client, workspace.slug, "agent")
    response = await client.get(f"/api/v1/conversations/{chat}/queue-position", headers=headers)

    assert response.status_code == 200, response.text
    place = response.json()
    # Two agents are online, but only Olga is in Billing: the wait is hers alone to work off.
    assert (place["waiting"], place["position"], place["agents_online"]) == (True, 1, 1)
    assert place["estimated_wait_seconds"] == 300


async def test_manual_mode_assigns_nothing_until_a_supervisor_routes(
    runtime: Runtime, workspace: WorkspaceFixture, client: httpx.AsyncClient
) -> None:
    ws = workspace.id
    piotr = await add_agent(runtime, ws, "Piotr Picker", competences={"web_chat": 7})
    conversation = await arrive(runtime, ws, workspace.inboxes["web_chat"], Channel.WEB_CHAT, "v-1")
    assert await assignee_of(runtime, conversation) is None
    assert await history(runtime, conversation) == []

    agent = await login(client, workspace.slug, "agent")
    supervisor = await login(client, workspace.slug, "super")
    admin = await login(client, workspace.slug, "admin")
    url = f"/api/v1/conversations/{conversation}/route"
    assert (await client.post(url, headers=agent)).status_code == 403
    response = await client.post(url, headers=supervisor)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["assigned"] is True and body["assignment"]["agent_id"] == piotr
    assert body["explanation"].startswith("Piotr Picker: web_chat competence 7")
    shown = (
        await client.get(f"/api/v1/conversations/{conversation}/assignments", headers=agent)
    ).json()
    assert [(a["agent_name"], a["mode"], a["reason"]) for a in shown] == [
        ("Piotr Picker", "requested", body["explanation"])
    ]
    # Routing again finds it taken and says so.
    again = (await client.post(url, headers=supervisor)).json()
    assert again == {
        "assigned": False,
        "assignment": None,
        "explanation": "the conversation already has an agent",
    }

    # Settings: admin only; switching to auto is what makes arrivals route.
    assert (await client.get("/api/v1/routing/settings", headers=supervisor)).status_code == 403
    settings = (await client.get("/api/v1/routing/settings", headers=admin)).json()
    assert settings["mode"] == "manual" and settings["weights"]["affinity"] == 3.0
    bad = await client.put(
        "/api/v1/routing/settings", headers=admin, json={"mode": "auto", "weights": {"luck": 1}}
    )
    assert bad.status_code == 422, bad.text
    assert "luck" in bad.json()["detail"]
    put = await client.put(
        "/api/v1/routing/settings", headers=admin, json={"mode": "auto", "weights": {"idle": 2}}
    )
    assert put.status_code == 200 and put.json()["weights"]["idle"] == 2.0
    second = await arrive(runtime, ws, workspace.inboxes["web_chat"], Channel.WEB_CHAT, "v-2")
    assert await assignee_of(runtime, second) == piotr


async def test_assigning_by_hand_is_recorded_and_resolving_releases_it(
    runtime: Runtime, workspace: WorkspaceFixture, client: httpx.AsyncClient
) -> None:
    ws = workspace.id
    conversation = await arrive(
        runtime, ws, workspace.inboxes["email"], Channel.EMAIL, "x@example.com"
    )
    supervisor = await login(client, workspace.slug, "super")
    response = await client.post(
        f"/api/v1/conversations/{conversation}/assign",
        headers=supervisor,
        json={"assignee_id": workspace.agent_id},
    )
    assert response.status_code == 200, response.text
    await resolve(runtime, ws, conversation)
    [row] = await history(runtime, conversation)
    assert (row.agent_id, row.mode, row.cost) == (workspace.agent_id, "manual", 20)
    assert row.released_at is not None
