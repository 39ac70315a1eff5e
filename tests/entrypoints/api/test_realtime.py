"""The real-time stream over a real WebSocket: delivery, resume, tenancy and visibility."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from websockets.exceptions import ConnectionClosed

from tests.conftest import WorkspaceFixture, login
from tests.support.server import (
    events_until_message,
    message_texts,
    post_inbound,
    subscribed,
    token_of,
    wait_ready,
)
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime, build_runtime
from threadline.config import Settings
from threadline.domain.events import Audience, DomainEvent, EventType
from threadline.entrypoints.api.app import create_app

pytestmark = pytest.mark.anyio


@dataclass(frozen=True, slots=True)
class _AdminsOnly(DomainEvent):
    """An event for admins only: the stream supports the audience, though no event of the
    application's uses it yet."""

    type = EventType.AGENT_UPDATED
    audience = Audience.ADMINS

    def payload(self) -> dict[str, Any]:
        return {"agent": {"id": 1}}


async def test_agent_receives_an_inbound_message_as_it_arrives(
    server: str, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    token = await token_of(client, workspace.slug, "agent")
    async with subscribed(server, token=token) as ws:
        ready_seq, backlog = await wait_ready(ws)
        assert backlog == []  # without `since`, only new events
        received = await post_inbound(client, workspace, "My parcel never came")
        frames = await events_until_message(ws, "My parcel never came")
    assert [f["event"] for f in frames] == [
        "customer.created",
        "conversation.created",
        "message.created",
    ]
    assert [f["seq"] for f in frames] == [ready_seq + 1, ready_seq + 2, ready_seq + 3]
    message = frames[-1]
    assert message["conversation_id"] == received["conversation_id"]
    assert message["payload"]["message"]["channel"] == "email"


async def test_reconnecting_with_since_delivers_each_missed_event_once_in_order(
    server: str, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    token = await token_of(client, workspace.slug, "agent")
    async with subscribed(server, token=token) as ws:
        await wait_ready(ws)
        await post_inbound(client, workspace, "first")
        seen = await events_until_message(ws, "first")
    last_seq = seen[-1]["seq"]

    await post_inbound(client, workspace, "second, while away")
    await post_inbound(client, workspace, "third, while away", sender="eva@example.com")

    # This time the token comes in the first message instead of the URL.
    async with subscribed(server, since=last_seq) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        ready_seq, missed = await wait_ready(ws)
        await post_inbound(client, workspace, "fourth, live")
        live = await events_until_message(ws, "fourth, live")

    assert message_texts(missed) == ["second, while away", "third, while away"]
    assert message_texts(live) == ["fourth, live"]
    seqs = [f["seq"] for f in missed + live]
    assert seqs == list(range(last_seq + 1, last_seq + 1 + len(seqs)))
    assert ready_seq == missed[-1]["seq"]


async def test_an_event_whose_publish_never_arrived_is_back_filled_from_the_table(
    server: str,
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    settings: Settings,
    clock: ManualClock,
) -> None:
    # A second process on the same database whose pub/sub reaches nobody: its events are
    # committed but never published to this server, as when a publish fails after commit.
    unheard = build_runtime(settings, clock=clock)
    transport = httpx.ASGITransport(app=create_app(runtime=unheard))
    token = await token_of(client, workspace.slug, "agent")
    try:
        async with (
            httpx.AsyncClient(
                transport=transport, base_url="http://unheard.test"
            ) as unheard_client,
            subscribed(server, token=token) as ws,
        ):
            ready_seq, _ = await wait_ready(ws)
            await post_inbound(unheard_client, workspace, "published nowhere")
            await post_inbound(client, workspace, "published here")
            frames = await events_until_message(ws, "published here")
    finally:
        await unheard.close()
    assert message_texts(frames) == ["published nowhere", "published here"]
    assert [f["seq"] for f in frames] == list(range(ready_seq + 1, ready_seq + 1 + len(frames)))


async def test_subscribers_never_receive_another_workspaces_events(
    server: str,
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    other_workspace: WorkspaceFixture,
) -> None:
    token = await token_of(client, workspace.slug, "agent")
    # An integration subscribes with its workspace API key.
    async with (
        subscribed(server, token=token) as agent_ws,
        subscribed(server, token=workspace.api_key, since=0) as key_ws,
    ):
        await wait_ready(agent_ws)
        _, history = await wait_ready(key_ws)
        await post_inbound(client, other_workspace, "globex secret")
        await post_inbound(client, workspace, "acme hello")
        for ws in (agent_ws, key_ws):
            frames = await events_until_message(ws, "acme hello")
            assert message_texts(frames) == ["acme hello"]
    assert "globex secret" not in json.dumps(history)


async def test_plain_agent_does_not_see_another_teams_conversation_but_an_admin_does(
    server: str, client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    hidden = await post_inbound(client, workspace, "for billing", sender="bill@example.com")
    async with runtime.sessionmaker() as session:
        team = t.Team(workspace_id=workspace.id, name="Billing", created_at=runtime.clock.now())
        session.add(team)
        await session.flush()
        await session.execute(
            update(t.Conversation)
            .where(t.Conversation.id == hidden["conversation_id"])
            .values(team_id=team.id)
        )
        await session.execute(
            update(t.Workspace).where(t.Workspace.id == workspace.id).values(agents_see_all=False)
        )
        await session.commit()

    agent_token = await token_of(client, workspace.slug, "agent")
    admin_token = await token_of(client, workspace.slug, "admin")
    async with (
        subscribed(server, token=agent_token) as agent_ws,
        subscribed(server, token=admin_token) as admin_ws,
    ):
        await wait_ready(agent_ws)
        await wait_ready(admin_ws)
        await post_inbound(client, workspace, "billing again", sender="bill@example.com")
        await post_inbound(client, workspace, "unrouted", sender="una@example.com")
        agent_frames = await events_until_message(agent_ws, "unrouted")
        admin_frames = await events_until_message(admin_ws, "unrouted")

    assert message_texts(agent_frames) == ["unrouted"]
    assert hidden["conversation_id"] not in {f["conversation_id"] for f in agent_frames}
    assert message_texts(admin_frames) == ["billing again", "unrouted"]

    # Polling applies the same rule.
    headers = {"Authorization": f"Bearer {agent_token}"}
    polled = (await client.get("/api/v1/events", params={"since": 0}, headers=headers)).json()
    assert "billing again" not in message_texts(polled["events"])
    assert "unrouted" in message_texts(polled["events"])
    assert polled["seq"] == admin_frames[-1]["seq"]
    assert polled["has_more"] is False


async def test_polling_pages_through_events_with_since_and_limit(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    for text in ("one", "two", "three"):
        await post_inbound(client, workspace, text)
    headers = {"X-API-Key": workspace.api_key}
    texts: list[str] = []
    since = 0
    while True:
        response = await client.get(
            "/api/v1/events", params={"since": since, "limit": 2}, headers=headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        texts += message_texts(page["events"])
        since = page["seq"]
        if not page["has_more"]:
            break
    assert texts == ["one", "two", "three"]


@pytest.mark.parametrize("in_first_message", [False, True])
async def test_a_bad_token_closes_the_stream_with_policy_violation(
    server: str, in_first_message: bool
) -> None:
    query = {} if in_first_message else {"token": "not-a-real-token"}
    async with subscribed(server, **query) as ws:
        if in_first_message:
            await ws.send(json.dumps({"type": "auth", "token": "tlk_not-a-real-key"}))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008


async def test_events_for_admins_reach_only_admins(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    async with runtime.uow() as uow:
        uow.emit(workspace.id, _AdminsOnly())
        await uow.commit()

    async def polled_types(headers: dict[str, str]) -> list[str]:
        page = (await client.get("/api/v1/events", headers=headers)).json()
        return [f["event"] for f in page["events"]]

    assert "agent.updated" in await polled_types(await login(client, workspace.slug, "admin"))
    assert "agent.updated" not in await polled_types(await login(client, workspace.slug, "agent"))
    assert "agent.updated" not in await polled_types(await login(client, workspace.slug, "super"))
