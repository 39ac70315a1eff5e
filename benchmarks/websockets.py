# ruff: noqa: E402  (imports follow the sys.path fix below)
"""Web-chat sockets at scale: one API process holding 2,000 widget sockets and 200 agent
sockets; its memory (RSS) before and after they connect, and the fan-out latency from a
visitor's message posted to the widget API to its arrival on every agent socket.

    .venv/bin/python benchmarks/websockets.py [--visitors 2000] [--agents 200] [--messages 40]

A throw-away PostgreSQL database is created on --pg-dsn and dropped afterwards; the API runs
as one real uvicorn process on a free port of 127.0.0.1 (in-process pub/sub). Agents
subscribe to /api/v1/events/ws with a workspace API key (the same stream agents' browsers
use); visitors to /api/v1/widget/ws with their visitor tokens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

# Run as a script, this folder would come first on the path, and this file would shadow the
# `websockets` library it uses: the repository root goes there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import httpx
from websockets.asyncio.client import ClientConnection, connect

from benchmarks.webhooks import (
    ApiServer,
    create_postgres_database,
    drop_postgres_database,
)
from threadline.adapters.db.migrate import upgrade_to_head
from threadline.bootstrap import build_runtime
from threadline.config import Settings
from threadline.domain.channels import Channel
from threadline.domain.messaging.web_chat import VisitorClaims, new_visitor_id, sign_visitor_token
from threadline.entrypoints.logging_setup import configure_logging
from threadline.web_chat.visitor_messages import send_visitor_message
from threadline.web_chat.widget_inboxes import ensure_public_key
from threadline.workspace.auth import create_api_key
from threadline.workspace.create import create_inbox, create_workspace

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
SECRET_KEY = uuid.uuid4().hex * 2
# Sockets opened at once; each one's catch-up reads the database.
BATCH = 50


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def prepare(database_url: str, visitors: int) -> tuple[str, list[str]]:
    """A workspace, its web-chat inbox and API key, and visitors who have each written once
    (a visitor's socket streams an existing chat). Returns the API key and visitor tokens."""
    runtime = build_runtime(
        Settings(database_url=database_url, run_outbound_worker=False, secret_key=SECRET_KEY)
    )
    try:
        async with runtime.uow() as uow:
            workspace = await create_workspace(
                uow, name="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}", default_region="PL"
            )
            inbox = await create_inbox(uow, workspace.id, name="chat", channel=Channel.WEB_CHAT)
            ensure_public_key(inbox)
            _, api_key = await create_api_key(uow.session, workspace.id, "bench", uow.clock.now())
            await uow.commit()
        tokens: list[str] = []
        claims_list = [
            VisitorClaims(workspace.id, inbox.id, new_visitor_id(), None) for _ in range(visitors)
        ]

        async def first_message(claims: VisitorClaims) -> None:
            await send_visitor_message(runtime.uow, claims, "Hello from the shop")

        for start in range(0, visitors, 8):
            batch = claims_list[start : start + 8]
            await asyncio.gather(*(first_message(c) for c in batch))
        tokens = [sign_visitor_token(SECRET_KEY, c) for c in claims_list]
        return api_key, tokens
    finally:
        await runtime.close()


async def wait_ready(ws: ClientConnection) -> None:
    while json.loads(await ws.recv())["type"] != "ready":
        pass


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=2000)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--pg-dsn", default=os.environ.get("THREADLINE_BENCH_PG_DSN", DEFAULT_PG))
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))

    name, url = create_postgres_database(args.pg_dsn)
    server: ApiServer | None = None
    sockets: list[ClientConnection] = []
    try:
        upgrade_to_head(url)
        print(f"preparing {args.visitors} visitors with a chat each ...", flush=True)
        began = time.perf_counter()
        api_key, tokens = await prepare(url, args.visitors)
        print(f"  {time.perf_counter() - began:.1f} s")
        server = ApiServer(url, secret_key=SECRET_KEY)
        await server.wait_ready()
        host = server.base_url.removeprefix("http://")
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            await client.get("/healthz")
            await client.get("/widget/loader.js")
        await asyncio.sleep(1.0)
        rss_before = rss_mib(server.process.pid)

        print(f"connecting {args.agents} agent sockets and {args.visitors} widget sockets ...")
        began = time.perf_counter()
        agent_sockets: list[ClientConnection] = []
        for start in range(0, args.agents, 100):
            batch = await asyncio.gather(
                *(
                    connect(f"ws://{host}/api/v1/events/ws?" + urlencode({"token": api_key}))
                    for _ in range(min(100, args.agents - start))
                )
            )
            await asyncio.gather(*(wait_ready(ws) for ws in batch))
            agent_sockets.extend(batch)
        widget_sockets: list[ClientConnection] = []
        for start in range(0, len(tokens), BATCH):
            batch = await asyncio.gather(
                *(
                    connect(
                        f"ws://{host}/api/v1/widget/ws?"
                        # What the frame sends on every page load: the whole chat is
                        # back-filled from the event table.
                        + urlencode({"token": token, "since": 0}),
                        max_size=2**20,
                        open_timeout=60,
                    )
                    for token in tokens[start : start + BATCH]
                )
            )
            await asyncio.gather(*(wait_ready(ws) for ws in batch))
            widget_sockets.extend(batch)
        sockets = agent_sockets + widget_sockets
        connect_seconds = time.perf_counter() - began
        await asyncio.sleep(2.0)
        rss_after = rss_mib(server.process.pid)

        # Each agent socket records when each benchmark message reaches it.
        arrivals: dict[str, list[float]] = {}
        complete: dict[str, asyncio.Event] = {}

        async def agent_reader(ws: ClientConnection) -> None:
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("event") == "message.created":
                    text = frame["payload"]["message"]["text"]
                    if text.startswith("bench "):
                        seen = arrivals.setdefault(text, [])
                        seen.append(time.perf_counter())
                        if len(seen) == len(agent_sockets):
                            complete.setdefault(text, asyncio.Event()).set()

        async def widget_drain(ws: ClientConnection) -> None:
            async for _ in ws:
                pass

        readers = [asyncio.create_task(agent_reader(ws)) for ws in agent_sockets]
        readers += [asyncio.create_task(widget_drain(ws)) for ws in widget_sockets]
        latencies: list[float] = []
        stored: list[float] = []
        incomplete = 0
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            for number in range(args.messages):
                text = f"bench {number}"
                token = tokens[number % len(tokens)]
                posted = time.perf_counter()
                response = await client.post(
                    "/api/v1/widget/messages",
                    json={"text": text},
                    headers={"X-Visitor-Token": token},
                )
                response.raise_for_status()
                stored.append((time.perf_counter() - posted) * 1000)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(complete.setdefault(text, asyncio.Event()).wait(), 10)
                got = arrivals.get(text, [])
                incomplete += args.agents - len(got)
                latencies.extend((moment - posted) * 1000 for moment in got)
                await asyncio.sleep(0.05)
        for task in readers:
            task.cancel()

        print()
        print(f"one API process, {args.agents} agent sockets + {args.visitors} widget sockets")
        print(f"  connect + catch-up of all sockets: {connect_seconds:.1f} s")
        print(f"  RSS before sockets: {rss_before:.0f} MiB")
        print(f"  RSS with sockets:   {rss_after:.0f} MiB")
        per_socket = (rss_after - rss_before) * 1024 / max(1, len(sockets))
        print(f"  memory per socket:  {per_socket:.0f} KiB")
        print(
            f"fan-out, {args.messages} messages posted to the widget API, "
            f"each to {args.agents} agent sockets ({len(latencies)} deliveries, "
            f"{incomplete} missing):"
        )
        print(
            f"  p50 {percentile(latencies, 0.50):.1f} ms   p99 {percentile(latencies, 0.99):.1f} ms"
            f"   max {max(latencies):.1f} ms   mean {statistics.fmean(latencies):.1f} ms"
        )
        print(
            f"  of which the POST until stored (201): p50 {percentile(stored, 0.50):.1f} ms"
            f"   p99 {percentile(stored, 0.99):.1f} ms"
        )
        print("  (from the POST leaving the client to the frame arriving on each agent socket;")
        sockets = args.agents + args.visitors
        print(
            "   includes the message's transaction and the client's own reading of "
            f"{sockets:,} sockets)"
        )
    finally:
        for ws in sockets:
            await ws.close()
        if server is not None:
            server.stop()
        drop_postgres_database(args.pg_dsn, name)


if __name__ == "__main__":
    # Our log lines at warning and above only: structlog unconfigured prints every one.
    configure_logging(Settings(log_level="WARNING", secret_key="benchmarks-only"))
    asyncio.run(main())
