"""A real uvicorn server on a free 127.0.0.1 port, and a WebSocket client for its event stream.

The server runs as a task in the test's own event loop, so it can serve the test's runtime
(whose database engine belongs to that loop) without building a second one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import WorkspaceFixture, customer_writes, login
from threadline.bootstrap import Runtime
from threadline.entrypoints.api.app import create_app

WAIT_SECONDS = 5


@asynccontextmanager
async def running_server(runtime: Runtime, port: int = 0) -> AsyncIterator[str]:
    """Serves the API of `runtime`; yields its address as "127.0.0.1:<port>". A given port
    lets a test stop a server and start another in its place (as a restart or deploy does to
    open sockets); 0 takes a free one."""
    config = uvicorn.Config(
        create_app(runtime=runtime), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # start-up failed: raise why
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=5)
        except TimeoutError:
            server.force_exit = True
            await task


async def token_of(client: httpx.AsyncClient, slug: str, who: str) -> str:
    headers = await login(client, slug, who)
    return headers["Authorization"].removeprefix("Bearer ")


@asynccontextmanager
async def subscribed(server: str, **query: Any) -> AsyncIterator[ClientConnection]:
    """A WebSocket on the event stream of `server`, with `query` (token, since) in the URL."""
    url = f"ws://{server}/api/v1/events/ws"
    if query:
        url += "?" + urlencode(query)
    async with connect(url, open_timeout=WAIT_SECONDS) as ws:
        yield ws


async def next_frame(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(WAIT_SECONDS):
        frame: dict[str, Any] = json.loads(await ws.recv(decode=True))
    return frame


async def wait_ready(ws: ClientConnection) -> tuple[int, list[dict[str, Any]]]:
    """The back-filled event frames up to the "ready" frame, and the seq it reports."""
    events = []
    while (frame := await next_frame(ws))["type"] != "ready":
        events.append(frame)
    return frame["seq"], events


async def events_until_message(ws: ClientConnection, text: str) -> list[dict[str, Any]]:
    """Event frames up to and including the message.created of the message `text`."""
    frames = []
    while True:
        frame = await next_frame(ws)
        assert frame["type"] == "event", frame
        frames.append(frame)
        if frame["event"] == "message.created" and frame["payload"]["message"]["text"] == text:
            return frames


def message_texts(frames: list[dict[str, Any]]) -> list[str]:
    return [f["payload"]["message"]["text"] for f in frames if f["event"] == "message.created"]


async def post_inbound(
    client: httpx.AsyncClient, ws: WorkspaceFixture, text: str, sender: str = "jan@example.com"
) -> dict[str, Any]:
    """An inbound email from `sender`, through the API as an integration would send it."""
    return await customer_writes(client, ws, "email", "email", sender, text)
