"""Offer mode (accept within the timeout, or the next agent is asked; missed offers set an
agent away; a pending offer holds the agent's room) and transfers with a note."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import WorkspaceFixture
from tests.support.routing import (
    add_agent,
    arrive,
    assignee_of,
    history,
    load_of,
    make_team,
    offers_of,
    pending_offer_id,
    presence_of,
    set_mode,
    set_steps,
)
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.core.timers import fire_due_timers
from threadline.domain.channels import Channel
from threadline.domain.errors import Conflict, Forbidden
from threadline.domain.security.access import Principal, Role
from threadline.routing import accept_offer, decline_offer, list_my_offers, transfer

pytestmark = pytest.mark.anyio


def _agent(ws: int, agent_id: int) -> Principal:
    return Principal(workspace_id=ws, role=Role.AGENT, agent_id=agent_id)


async def test_offers_are_accepted_declined_or_run_out_and_hold_the_agents_room(
    runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    ws, chat = workspace.id, workspace.inboxes["web_chat"]
    await set_steps(runtime, ws, offer_mode=True, offer_timeout_seconds=30, max_missed_offers=2)
    one_chat = {"budget": 25}
    ola = await add_agent(runtime, ws, "Ola First", competences={"web_chat": 9}, capacity=one_chat)
    piotr = await add_agent(
        runtime, ws, "Piotr Second", competences={"web_chat": 7}, capacity=one_chat
    )
    rafal = await add_agent(runtime, ws, "Rafal Third", competences={"web_chat": 5})

    # Each chat is offered, not assigned; Ola's pending offer fills her room, so the second
    # chat is offered to Piotr and the third to Rafal.
    c1 = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "v-1")
    c2 = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "v-2")
    c3 = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "v-3")
    assert [await assignee_of(runtime, c) for c in (c1, c2, c3)] == [None, None, None]
    assert [await offers_of(runtime, c) for c in (c1, c2, c3)] == [
        [(ola, "pending")],
        [(piotr, "pending")],
        [(rafal, "pending")],
    ]
    assert await load_of(runtime, ola) == 25

    # Only Ola may answer her offer; she accepts within the time.
    offer1 = await pending_offer_id(runtime, c1)
    async with runtime.uow() as uow:
        with pytest.raises(Forbidden):
            await accept_offer(uow, _agent(ws, piotr), offer1)
    async with runtime.uow() as uow:
        assert [o["conversation_id"] for o in await list_my_offers(uow, _agent(ws, ola))] == [c1]
    clock.advance(timedelta(seconds=12))
    async with runtime.uow() as uow:
        await accept_offer(uow, _agent(ws, ola), offer1)
        await uow.commit()
    assert await assignee_of(runtime, c1) == ola
    [accepted] = await history(runtime, c1)
    assert accepted.mode == "offer" and accepted.reason.endswith("Offered and accepted after 12 s")
    assert await load_of(runtime, ola) == 25  # the reservation became the assignment
    async with runtime.uow() as uow:
        with pytest.raises(Conflict, match="already accepted"):
            await accept_offer(uow, _agent(ws, ola), offer1)

    # Piotr declines: the next agent with room (Rafal; Ola is full) is offered it at once.
    async with runtime.uow() as uow:
        await decline_offer(uow, _agent(ws, piotr), await pending_offer_id(runtime, c2))
        await uow.commit()
    assert await offers_of(runtime, c2) == [(piotr, "declined"), (rafal, "pending")]
    assert await load_of(runtime, piotr) == 0

    # Rafal answers neither. 30 s after it was made the third chat's offer runs out and it
    # goes to Piotr (who only declined the second); Rafal has missed one offer.
    clock.advance(timedelta(seconds=17))
    assert await fire_due_timers(runtime.uow, clock.now()) == 0
    clock.advance(timedelta(seconds=1))
    assert await fire_due_timers(runtime.uow, clock.now()) == 1
    assert await offers_of(runtime, c3) == [(rafal, "expired"), (piotr, "pending")]
    assert await presence_of(runtime, rafal) == "online"
    # 30 s after the second chat was offered to him, that runs out too: two missed offers in
    # a row set Rafal away, and the second chat, with nobody left to ask, waits.
    clock.advance(timedelta(seconds=12))
    assert await fire_due_timers(runtime.uow, clock.now()) == 1
    assert await offers_of(runtime, c2) == [(piotr, "declined"), (rafal, "expired")]
    assert await presence_of(runtime, rafal) == "away"
    assert await assignee_of(runtime, c2) is None
    assert await load_of(runtime, rafal) == 0
    # An offer that has run out cannot be accepted any more.
    async with runtime.uow() as uow:
        expired = (
            await uow.session.execute(
                select(t.RoutingOffer.id).where(
                    t.RoutingOffer.conversation_id == c3, t.RoutingOffer.agent_id == rafal
                )
            )
        ).scalar_one()
        with pytest.raises(Conflict, match="already expired"):
            await accept_offer(uow, _agent(ws, rafal), expired)


async def test_transfers_carry_a_note_and_follow_the_roles(
    runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    ws, chat = workspace.id, workspace.inboxes["web_chat"]
    await set_mode(runtime, ws, "auto")
    ola = await add_agent(runtime, ws, "Ola First", competences={"web_chat": 9})
    piotr = await add_agent(runtime, ws, "Piotr Second", competences={"web_chat": 3})
    vera = await add_agent(runtime, ws, "Vera Vip", competences={"web_chat": 1}, online=False)
    vip = await make_team(runtime, ws, "VIP", [vera])
    c1 = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "v-1")
    assert await assignee_of(runtime, c1) == ola

    # Piotr cannot hand over Ola's conversation.
    async with runtime.uow() as uow:
        with pytest.raises(Forbidden, match="only conversations assigned to them"):
            await transfer(uow, _agent(ws, piotr), c1, agent_id=piotr, note="mine now")

    # Ola transfers it to Piotr with a note: an internal note in the timeline, and the note
    # in the new assignment's explanation.
    async with runtime.uow() as uow:
        result = await transfer(
            uow, _agent(ws, ola), c1, agent_id=piotr, note="wants a refund for order 17"
        )
        await uow.commit()
    assert await assignee_of(runtime, c1) == piotr
    first, second = await history(runtime, c1)
    assert (first.agent_id, first.released_at is not None) == (ola, True)
    assert (second.agent_id, second.mode) == (piotr, "transfer")
    assert second.reason == result.explanation
    assert second.reason.startswith(
        "transferred by Ola First from Ola First to Piotr Second with the note: "
        "wants a refund for order 17"
    )
    async with runtime.uow() as uow:
        notes = (
            await uow.session.execute(
                select(t.Message.text, t.Message.author_agent_id).where(
                    t.Message.conversation_id == c1, t.Message.direction == "note"
                )
            )
        ).all()
    assert [(n.text, n.author_agent_id) for n in notes] == [
        ("Transferred to Piotr Second. wants a refund for order 17", ola)
    ]
    assert (await load_of(runtime, ola), await load_of(runtime, piotr)) == (0, 25)

    # A supervisor moves it to the VIP team: nobody there is online, so it waits in the
    # team's queue; when Vera comes online she takes it, even though Ola is better on chat.
    supervisor = Principal(workspace_id=ws, role=Role.SUPERVISOR, agent_id=workspace.supervisor_id)
    async with runtime.uow() as uow:
        moved = await transfer(uow, supervisor, c1, team_id=vip, note="VIP customer")
        await uow.commit()
    assert moved.assignment is None and moved.conversation.team_id == vip
    assert await assignee_of(runtime, c1) is None
    assert await load_of(runtime, piotr) == 0
    from tests.support.routing import set_presence

    await set_presence(runtime, ws, vera, online=True)
    assert await assignee_of(runtime, c1) == vera
    *_, last = await history(runtime, c1)
    assert last.reason.startswith(
        "transferred by Sue Supervisor from Piotr Second to team VIP with the note: VIP customer. "
        "next in the queue when Vera Vip had room"
    )


async def test_an_assignment_by_transfer_ends_the_conversations_routing_progress(
    runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    ws, chat = workspace.id, workspace.inboxes["web_chat"]
    await set_mode(runtime, ws, "auto")
    piotr = await add_agent(runtime, ws, "Piotr Second")
    vera = await add_agent(runtime, ws, "Vera Vip", online=False)
    vip = await make_team(runtime, ws, "VIP", [vera])
    c1 = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "v-1")
    supervisor = Principal(workspace_id=ws, role=Role.SUPERVISOR, agent_id=workspace.supervisor_id)
    # Waiting for the VIP team, with the transfer note carried for its future assignment.
    async with runtime.uow() as uow:
        await transfer(uow, supervisor, c1, team_id=vip, note="VIP customer")
        await uow.commit()
    async with runtime.uow() as uow:
        assert await uow.session.get(t.RoutingProgress, c1) is not None
    # Handed straight to Piotr instead: nothing of the wait may follow the conversation (a
    # later return to the queue would otherwise start from that note, its relaxed skills and
    # its passed-over agents).
    async with runtime.uow() as uow:
        await transfer(uow, supervisor, c1, agent_id=piotr, note="")
        await uow.commit()
    assert await assignee_of(runtime, c1) == piotr
    async with runtime.uow() as uow:
        assert await uow.session.get(t.RoutingProgress, c1) is None


async def test_the_api_for_steps_team_routing_offers_and_transfers(
    runtime: Runtime, workspace: WorkspaceFixture, client: httpx.AsyncClient
) -> None:
    from tests.conftest import login
    from tests.support.routing import set_presence

    ws = workspace.id
    admin = await login(client, workspace.slug, "admin")
    supervisor = await login(client, workspace.slug, "super")
    agent = await login(client, workspace.slug, "agent")
    url = "/api/v1/routing/settings"
    bad = await client.put(url, headers=admin, json={"mode": "auto", "steps": {"stickyness": 1}})
    assert bad.status_code == 422 and "stickyness" in bad.json()["detail"]
    good = await client.put(
        url,
        headers=admin,
        json={"mode": "auto", "steps": {"offer_mode": True, "offer_timeout_seconds": 20}},
    )
    assert good.status_code == 200, good.text
    steps = good.json()["steps"]
    assert (steps["offer_mode"], steps["offer_timeout_seconds"], steps["sticky_wait_seconds"]) == (
        True,
        20,
        60,
    )
    team = await make_team(runtime, ws, "Desk", [workspace.agent_id])
    team_url = f"/api/v1/teams/{team}/routing"
    body = {"capacity": {"budget": 50}, "steps": {"offer_timeout_seconds": 45}}
    assert (await client.put(team_url, headers=supervisor, json=body)).status_code == 403
    put = await client.put(team_url, headers=admin, json=body)
    assert put.status_code == 200 and put.json()["capacity"] == {"budget": 50}

    # The agent is online: a chat is offered to them; only they can accept it.
    await set_presence(runtime, ws, workspace.agent_id, online=True)
    chat = await arrive(runtime, ws, workspace.inboxes["web_chat"], Channel.WEB_CHAT, "v-api")
    [offer] = (await client.get("/api/v1/routing/offers", headers=agent)).json()
    assert offer["conversation_id"] == chat
    accept = f"/api/v1/routing/offers/{offer['id']}/accept"
    assert (await client.post(accept, headers=supervisor)).status_code == 403
    accepted = await client.post(accept, headers=agent)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["assignment"]["agent_id"] == workspace.agent_id
    again = await client.post(accept, headers=agent)
    assert again.status_code == 409 and "already accepted" in again.json()["detail"]

    # The agent hands it to the supervisor with a note.
    transfer_url = f"/api/v1/conversations/{chat}/transfer"
    both = await client.post(transfer_url, headers=agent, json={"agent_id": 1, "team_id": 1})
    assert both.status_code == 422
    moved = await client.post(
        transfer_url,
        headers=agent,
        json={"agent_id": workspace.supervisor_id, "note": "needs a refund decision"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["assignment"]["agent_id"] == workspace.supervisor_id
    assert "with the note: needs a refund decision" in moved.json()["explanation"]
    # It is no longer the agent's, so they cannot transfer it again.
    denied = await client.post(
        transfer_url, headers=agent, json={"agent_id": workspace.agent_id, "note": ""}
    )
    assert denied.status_code == 403
