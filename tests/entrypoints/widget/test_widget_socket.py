"""The visitor's WebSocket over a real uvicorn server: resume without loss or repeats, only
the visitor's own chat, queue position and typing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import WorkspaceFixture, customer_writes, login
from tests.support.conversations_api import assign_to
from tests.support.server import next_frame, subscribed, token_of, wait_ready
from tests.support.widget import widget_key
from threadline.adapters.db import tables as t
from threadline.adapters.pubsub.base import workspace_topic
from threadline.bootstrap import Runtime
from threadline.conversations.replies import ReplyRequest, reply
from threadline.core.event_feed import events_since
from threadline.core.typing_signals import publish_typing
from threadline.domain.security.access import Principal, Role
from threadline.entrypoints.widget import _hub, visitor_api

pytestmark = pytest.mark.anyio
WAIT = 5
# The opening handshake timed out at 5 s once on a loaded two-core CI machine running two test
# workers; how fast a socket opens is not what these tests check.
HANDSHAKE_WAIT = 20


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    visitor_api._limiter._hits.clear()


@asynccontextmanager
async def widget_socket(server: str, token: str, since: int = 0) -> AsyncIterator[ClientConnection]:
    url = f"ws://{server}/api/v1/widget/ws?" + urlencode({"token": token, "since": since})
    async with connect(url, open_timeout=HANDSHAKE_WAIT) as ws:
        yield ws


async def frame(ws: ClientConnection, within: float = WAIT) -> dict[str, Any]:
    async with asyncio.timeout(within):
        data: dict[str, Any] = json.loads(await ws.recv(decode=True))
    return data


async def until(ws: ClientConnection, kind: str) -> list[dict[str, Any]]:
    """Frames up to and including the first of `kind`."""
    seen = []
    while True:
        seen.append(await frame(ws))
        if seen[-1]["type"] == kind:
            return seen


async def quiet(ws: ClientConnection, seconds: float = 0.4) -> list[dict[str, Any]]:
    """Whatever arrives within `seconds` (used to show nothing more comes)."""
    extra = []
    try:
        while True:
            extra.append(await frame(ws, seconds))
    except TimeoutError:
        return extra


async def visitor(
    client: httpx.AsyncClient, runtime: Runtime, ws: WorkspaceFixture, first: str
) -> dict[str, Any]:
    key = await widget_key(runtime, ws)
    session = (await client.post("/api/v1/widget/session", json={"inbox": key})).json()
    sent = await client.post(
        "/api/v1/widget/messages",
        json={"text": first},
        headers={"X-Visitor-Token": session["token"]},
    )
    assert sent.status_code == 201, sent.text
    return {**session, "conversation_id": sent.json()["conversation_id"]}


async def agent_reply(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int, text: str
) -> None:
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/replies", json={"text": text}, headers=headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["channel"] == "web_chat"


async def conversation_of(runtime: Runtime, chat: dict[str, Any]) -> t.Conversation:
    async with runtime.sessionmaker() as session:
        conversation = await session.get(t.Conversation, chat["conversation_id"])
    assert conversation is not None
    return conversation


def messages(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "message"]


async def test_reconnect_receives_each_missed_reply_exactly_once_in_order(
    server: str, client: httpx.AsyncClient, workspace: WorkspaceFixture, runtime: Runtime
) -> None:
    chat = await visitor(client, runtime, workspace, "Hello, anyone?")
    agent = await login(client, workspace.slug, "agent")
    status = await client.get("/api/v1/widget/status", headers={"X-Visitor-Token": chat["token"]})
    assert status.json()["queue"]["waiting"] is True
    assert status.json()["queue"]["position"] == 1
    async with widget_socket(server, chat["token"]) as ws:
        history = messages(await until(ws, "ready"))
        assert [(m["direction"], m["text"]) for m in history] == [("inbound", "Hello, anyone?")]
        await agent_reply(client, agent, chat["conversation_id"], "Reply 1")
        live = [m for m in await until(ws, "message")][-1]
        assert live["text"] == "Reply 1" and live["direction"] == "outbound"
        assert live["author"] == {"name": "Olek Agent", "photo_url": None}
        last_seen = live["seq"]
    # Answered, though nobody took the conversation yet: no queue place beside the answer.
    status = await client.get("/api/v1/widget/status", headers={"X-Visitor-Token": chat["token"]})
    assert status.json()["queue"]["waiting"] is False
    assert status.json()["queue"]["position"] is None
    assert status.json()["queue"]["agent"]["name"] == "Olek Agent"
    # The socket is cut; the agent goes on writing.
    for number in (2, 3, 4):
        await agent_reply(client, agent, chat["conversation_id"], f"Reply {number}")

    async with widget_socket(server, chat["token"], since=last_seen) as ws:
        caught_up = messages(await until(ws, "ready"))
        assert [m["text"] for m in caught_up] == ["Reply 2", "Reply 3", "Reply 4"]
        seqs = [m["seq"] for m in caught_up]
        assert seqs == sorted(set(seqs)) and seqs[0] > last_seen
        await agent_reply(client, agent, chat["conversation_id"], "Reply 5")
        live_frames = await until(ws, "message")
        assert [m["text"] for m in messages(live_frames)] == ["Reply 5"]
        assert not messages(await quiet(ws))

    # Resuming from the middle gives only what came after it.
    async with widget_socket(server, chat["token"], since=seqs[1]) as ws:
        assert [m["text"] for m in messages(await until(ws, "ready"))] == ["Reply 4", "Reply 5"]


async def test_a_visitor_sees_only_their_chat_never_notes_or_other_customers(
    server: str, client: httpx.AsyncClient, workspace: WorkspaceFixture, runtime: Runtime
) -> None:
    alice = await visitor(client, runtime, workspace, "Alice here")
    bob = await visitor(client, runtime, workspace, "Bob here")
    assert alice["conversation_id"] != bob["conversation_id"]
    agent = await login(client, workspace.slug, "agent")
    async with widget_socket(server, alice["token"]) as ws:
        await until(ws, "ready")
        note = await client.post(
            f"/api/v1/conversations/{alice['conversation_id']}/notes",
            json={"text": "INTERNAL: she is a difficult customer"},
            headers=agent,
        )
        assert note.status_code == 201, note.text
        await agent_reply(client, agent, bob["conversation_id"], "Only for Bob")
        await customer_writes(client, workspace, "email", "email", "carol@example.com", "Carol")
        # An agent typing to Bob is not shown to Alice; to Alice it is, but only a chat reply
        # (not an email to her being written).
        for chat, channel in ((bob, "web_chat"), (alice, "email"), (alice, "web_chat")):
            await publish_typing(
                runtime.pubsub,
                await conversation_of(runtime, chat),
                "agent",
                "Olek Agent",
                workspace.agent_id,
                channel,
            )
        await agent_reply(client, agent, alice["conversation_id"], "For Alice")
        frames = await until(ws, "message")
        frames += await quiet(ws)
    texts = [m["text"] for m in messages(frames)]
    assert texts == ["For Alice"]
    typing = [f for f in frames if f["type"] == "typing"]
    assert typing == [{"type": "typing", "who": "agent", "name": "Olek Agent"}]
    dumped = json.dumps(frames)
    for secret in ("INTERNAL", "Only for Bob", "Carol", "Bob here", "sender_identity", "meta"):
        assert secret not in dumped


async def test_socket_refuses_bad_tokens_and_waits_for_a_first_message(
    server: str, client: httpx.AsyncClient, workspace: WorkspaceFixture, runtime: Runtime
) -> None:
    async with widget_socket(server, "not-a-token") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await frame(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    key = await widget_key(runtime, workspace)
    fresh = (await client.post("/api/v1/widget/session", json={"inbox": key})).json()
    async with widget_socket(server, fresh["token"]) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await frame(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404

    # The visitor typing reaches the workspace topic, where agents' screens listen.
    chat = await visitor(client, runtime, workspace, "typing test")
    async with runtime.pubsub.subscribe(workspace_topic(workspace.id)) as subscription:
        async with widget_socket(server, chat["token"]) as ws:
            await until(ws, "ready")
            await ws.send(json.dumps({"type": "typing"}))
            async with asyncio.timeout(WAIT):
                async for envelope in subscription:
                    if envelope.get("type") == "typing":
                        break
    scope = envelope["payload"].pop("conversation")
    assert envelope["payload"] == {
        "conversation_id": chat["conversation_id"],
        "who": "customer",
        "name": None,
        "agent_id": None,
        "channel": None,
    }
    # The conversation's scope goes along, so the event stream can show it to its assignee.
    assert scope["id"] == chat["conversation_id"]


async def test_a_reply_whose_publish_was_lost_is_back_filled_in_order(
    server: str, client: httpx.AsyncClient, workspace: WorkspaceFixture, runtime: Runtime
) -> None:
    chat = await visitor(client, runtime, workspace, "Hello?")
    agent = await login(client, workspace.slug, "agent")

    async def lost(_workspace_id: int, _events: list[dict[str, Any]]) -> None:
        return None  # committed, but the fast path never hears of it

    silent = replace(runtime.uow, publish=lost, shared={})
    async with widget_socket(server, chat["token"]) as ws:
        await until(ws, "ready")
        async with silent() as uow:
            principal = Principal(workspace.id, Role.AGENT, workspace.agent_id)
            await reply(uow, principal, ReplyRequest(chat["conversation_id"], "Lost on the way"))
            await uow.commit()
        await agent_reply(client, agent, chat["conversation_id"], "Second")
        frames = await until(ws, "message")
        frames += await until(ws, "message")
        frames += await quiet(ws)
    assert [m["text"] for m in messages(frames)] == ["Lost on the way", "Second"]


async def test_the_hub_reads_what_a_lost_publish_left_out_once_for_all_sockets(
    server: str,
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice = await visitor(client, runtime, workspace, "Alice here")
    bob = await visitor(client, runtime, workspace, "Bob here")
    agent = await login(client, workspace.slug, "agent")
    reads: list[int] = []

    async def counted(session: Any, workspace_id: int, since: int, limit: int) -> Any:
        reads.append(since)
        return await events_since(session, workspace_id, since, limit)

    monkeypatch.setattr(_hub, "events_since", counted)

    async def lost(_workspace_id: int, _events: list[dict[str, Any]]) -> None:
        return None

    silent = replace(runtime.uow, publish=lost, shared={})
    principal = Principal(workspace.id, Role.AGENT, workspace.agent_id)
    async with (
        widget_socket(server, alice["token"]) as for_alice,
        widget_socket(server, bob["token"]) as for_bob,
    ):
        await until(for_alice, "ready")
        await until(for_bob, "ready")
        for chat in (alice, bob):
            async with silent() as uow:
                await reply(uow, principal, ReplyRequest(chat["conversation_id"], "Unheard"))
                await uow.commit()
        await agent_reply(client, agent, alice["conversation_id"], "Heard")
        alice_frames = await until(for_alice, "message")
        alice_frames += await until(for_alice, "message")
        bob_frames = await until(for_bob, "message")
        alice_frames += await quiet(for_alice)
        bob_frames += await quiet(for_bob)
    assert [m["text"] for m in messages(alice_frames)] == ["Unheard", "Heard"]
    assert [m["text"] for m in messages(bob_frames)] == ["Unheard"]
    assert len(reads) == 1, reads


async def test_a_back_fill_sends_one_queue_frame_however_many_changes_it_passes(
    server: str, client: httpx.AsyncClient, workspace: WorkspaceFixture, runtime: Runtime
) -> None:
    chat = await visitor(client, runtime, workspace, "First")
    for text in ("Second", "Third"):
        sent = await client.post(
            "/api/v1/widget/messages",
            json={"text": text},
            headers={"X-Visitor-Token": chat["token"]},
        )
        assert sent.status_code == 201, sent.text
    agent = await login(client, workspace.slug, "agent")
    for text in ("Reply 1", "Reply 2"):
        await agent_reply(client, agent, chat["conversation_id"], text)
    async with widget_socket(server, chat["token"]) as ws:
        frames = await until(ws, "ready")
        assert [m["text"] for m in messages(frames)] == [
            "First",
            "Second",
            "Third",
            "Reply 1",
            "Reply 2",
        ]
        queue = [f for f in frames if f["type"] == "queue"]
        assert len(queue) == 1, queue
        assert queue[0]["waiting"] is False
        assert queue[0]["agent"]["name"] == "Olek Agent"
        # Live, a message that changes nothing of the queue state sends no queue frame...
        await agent_reply(client, agent, chat["conversation_id"], "Reply 3")
        live = await until(ws, "message")
        live += await quiet(ws)
        assert [m["text"] for m in messages(live)] == ["Reply 3"]
        assert [f["type"] for f in live].count("queue") == 0
        # ...and a change of the conversation's assignee sends the new state.
        supervisor = await login(client, workspace.slug, "super")
        await assign_to(client, supervisor, chat["conversation_id"], workspace.supervisor_id)
        changed = await until(ws, "queue")
        changed += await quiet(ws)
        queue = [f for f in changed if f["type"] == "queue"]
        assert len(queue) == 1, queue
        assert queue[0]["waiting"] is False
        assert queue[0]["agent"]["name"] == "Sue Supervisor"


async def test_the_first_answer_tells_a_waiting_visitor_by_a_queue_frame_and_only_it(
    server: str, client: httpx.AsyncClient, workspace: WorkspaceFixture, runtime: Runtime
) -> None:
    chat = await visitor(client, runtime, workspace, "Anyone?")
    agent = await login(client, workspace.slug, "agent")
    async with widget_socket(server, chat["token"]) as ws:
        # The session and /status told the visitor their place; a catch-up that passes no
        # change of it (only the new conversation and its first message) does not repeat it.
        assert [f for f in await until(ws, "ready") if f["type"] == "queue"] == []
        # The visitor writing again changes nothing of their place: no queue frame.
        sent = await client.post(
            "/api/v1/widget/messages",
            json={"text": "Hello?"},
            headers={"X-Visitor-Token": chat["token"]},
        )
        assert sent.status_code == 201, sent.text
        frames = await until(ws, "message")
        frames += await quiet(ws)
        assert [m["text"] for m in messages(frames)] == ["Hello?"]
        assert [f["type"] for f in frames].count("queue") == 0
        # An agent answers, though nobody took the conversation: the visitor waits no more.
        await agent_reply(client, agent, chat["conversation_id"], "Here I am")
        frames = await until(ws, "message")
        frames += await quiet(ws)
        assert [m["text"] for m in messages(frames)] == ["Here I am"]
        queue = [f for f in frames if f["type"] == "queue"]
        assert len(queue) == 1, queue
        assert (queue[0]["waiting"], queue[0]["position"]) == (False, None)
        assert queue[0]["agent"]["name"] == "Olek Agent"


async def test_the_assignee_sees_the_visitor_typing_where_agents_see_only_their_own(
    server: str, client: httpx.AsyncClient, workspace: WorkspaceFixture, runtime: Runtime
) -> None:
    chat = await visitor(client, runtime, workspace, "Is anyone there?")
    async with runtime.sessionmaker() as session, session.begin():
        ws_row = await session.get(t.Workspace, workspace.id)
        conversation = await session.get(t.Conversation, chat["conversation_id"])
        assert ws_row is not None and conversation is not None
        ws_row.agents_see_all = False
        conversation.assignee_id = workspace.agent_id
    token = await token_of(client, workspace.slug, "agent")
    async with subscribed(server, token=token) as agent_stream:
        await wait_ready(agent_stream)
        async with widget_socket(server, chat["token"]) as ws:
            await until(ws, "ready")
            await ws.send(json.dumps({"type": "typing"}))
            while (seen := await next_frame(agent_stream))["type"] != "typing":
                pass
    assert (seen["conversation_id"], seen["who"]) == (chat["conversation_id"], "customer")
