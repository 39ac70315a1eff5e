"""The workspace's live path over a real server: the event socket signs in with the session
cookie only from our own origin, new messages arrive in well under a second, and typing
signals pass between agents and customers without being stored."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import WorkspaceFixture, customer_writes
from tests.entrypoints.web.test_web_workspace import sign_in
from tests.support.server import next_frame, wait_ready
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.core.typing_signals import publish_typing

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def signed_in(
    server: str, who: str, ws: WorkspaceFixture
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser-like client signed in through the login form, and its page CSRF token."""
    async with httpx.AsyncClient(base_url=f"http://{server}") as client:
        yield client, await sign_in(client, f"{who}@{ws.slug}.example.com")


def socket(server: str, client: httpx.AsyncClient, origin: str) -> Any:
    cookie = f"tl_session={client.cookies['tl_session']}"
    return connect(
        f"ws://{server}/api/v1/events/ws",
        additional_headers={"Cookie": cookie},
        origin=origin,  # type: ignore[arg-type]
        open_timeout=5,
    )


async def frame_of_type(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while (frame := await next_frame(ws))["type"] != kind:
        pass
    return frame


async def test_the_socket_takes_the_cookie_from_this_site_only_is_fast_and_carries_typing(
    server: str, client: httpx.AsyncClient, workspace: WorkspaceFixture, runtime: Runtime
) -> None:
    async with signed_in(server, "agent", workspace) as (agent, _):
        async with socket(server, agent, "http://evil.example") as hijacked:
            with pytest.raises(ConnectionClosed) as closed:
                await next_frame(hijacked)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

        async with socket(server, agent, f"http://{server}") as ws:
            await wait_ready(ws)
            await customer_writes(
                client, workspace, "web_chat", "web_visitor", "visitor-1", "Anyone there?"
            )
            started = time.monotonic()  # stored and committed: now it must reach the page
            while True:
                frame = await frame_of_type(ws, "event")
                if frame["event"] == "message.created":
                    break
            assert time.monotonic() - started < 1.0
            assert frame["payload"]["message"]["text"] == "Anyone there?"

    # Typing passes between agent and customer and is not stored.
    received = await customer_writes(
        client, workspace, "web_chat", "web_visitor", "visitor-2", "Hello"
    )
    conversation_id = received["conversation_id"]
    async with (
        signed_in(server, "agent", workspace) as (agent, csrf),
        signed_in(server, "super", workspace) as (supervisor, _),
    ):
        async with (
            socket(server, supervisor, f"http://{server}") as watching,
            socket(server, agent, f"http://{server}") as typing_agent,
        ):
            await wait_ready(watching)
            await wait_ready(typing_agent)
            async with runtime.sessionmaker() as session:
                events_before = (await session.execute(select(func.count(t.Event.id)))).scalar()

            path = f"/app/conversations/{conversation_id}/typing"
            assert (await agent.post(path)).status_code == 401  # no CSRF header
            typed = await agent.post(
                path, headers={"X-CSRF-Token": csrf}, json={"channel": "web_chat"}
            )
            assert typed.status_code == 204
            frame = await frame_of_type(watching, "typing")
            # With the agent's id: the supervisor's page warns of a colleague writing a reply,
            # Olek's own pages leave it out.
            assert frame == {
                "type": "typing",
                "conversation_id": conversation_id,
                "who": "agent",
                "name": "Olek Agent",
                "agent_id": workspace.agent_id,
            }

            # The customer's side publishes the same signal (as the chat widget does).
            async with runtime.sessionmaker() as session:
                conversation = await session.get(t.Conversation, conversation_id)
                assert conversation is not None
            await publish_typing(runtime.pubsub, conversation, "customer", "Ann")
            frame = await frame_of_type(watching, "typing")
            assert (frame["who"], frame["name"]) == ("customer", "Ann")
            # Olek's own socket was not sent his notice: the first typing frame it gets is Ann's.
            frame = await frame_of_type(typing_agent, "typing")
            assert (frame["who"], frame["name"]) == ("customer", "Ann")

            async with runtime.sessionmaker() as session:
                events_after = (await session.execute(select(func.count(t.Event.id)))).scalar()
            assert events_after == events_before  # nothing stored

            # The stream goes on: the next real event still arrives, in order.
            await customer_writes(
                client, workspace, "web_chat", "web_visitor", "visitor-2", "Still here"
            )
            while (frame := await frame_of_type(watching, "event"))["event"] != "message.created":
                pass
            assert frame["payload"]["message"]["text"] == "Still here"
