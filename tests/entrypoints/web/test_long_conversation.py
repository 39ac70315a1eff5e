"""A long conversation: its page shows the newest messages (the one just received included),
stays small, and "load earlier messages" (a plain link) goes back to the very first one; the
API pages the same way, newest first with a `before_id` cursor."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from tests.conftest import WorkspaceFixture, customer_writes
from tests.entrypoints.web.test_web_workspace import sign_in
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.conversations.queries import TIMELINE_PAGE

pytestmark = pytest.mark.anyio

HISTORY = 10_000
# The page with its 50 newest messages, the reply box, the card: about 35 kB, not a megabyte.
MAX_PAGE_BYTES = 60_000
LOAD_EARLIER = re.compile(r'<a href="(/app/conversations/\d+\?before=(\d+))" id="load-earlier"')
ENTRY_ID = re.compile(r'data-testid="timeline-entry"[^>]*data-message-id="(\d+)"')


async def long_conversation(
    client: httpx.AsyncClient, runtime: Runtime, ws: WorkspaceFixture, clock: ManualClock
) -> dict[str, Any]:
    """The very first message, 10,000 more inserted in bulk, then one just received."""
    first = await customer_writes(
        client, ws, "sms", "phone", "+48601234567", "The very first message"
    )
    start = clock.now()
    rows = [
        {
            "workspace_id": ws.id,
            "conversation_id": first["conversation_id"],
            "inbox_id": ws.inboxes["sms"],
            "channel": "sms",
            "direction": "inbound" if n % 2 else "outbound",
            "sender_identity": "+48601234567",
            "text": f"Message number {n} of a very long chat about a kettle",
            "attachments": [],
            "delivery_status": "received" if n % 2 else "sent",
            "meta": {},
            "created_at": start + timedelta(seconds=n),
        }
        for n in range(1, HISTORY + 1)
    ]
    async with runtime.sessionmaker() as session, session.begin():
        await session.execute(insert(t.Message), rows)
    clock.advance(timedelta(seconds=HISTORY + 60))
    await customer_writes(client, ws, "sms", "phone", "+48601234567", "Just received: help!")
    return first


async def thread_ids(runtime: Runtime, conversation_id: int) -> list[int]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(t.Message.id)
            .where(t.Message.conversation_id == conversation_id)
            .order_by(t.Message.created_at, t.Message.id)
        )
        return list(rows.scalars())


async def test_the_newest_messages_show_and_load_earlier_reaches_the_first(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    clock: ManualClock,
) -> None:
    first = await long_conversation(client, runtime, workspace, clock)
    conversation_id = first["conversation_id"]
    every = await thread_ids(runtime, conversation_id)
    assert len(every) == HISTORY + 2
    await sign_in(browser, f"agent@{workspace.slug}.example.com")

    page = await browser.get(f"/app/conversations/{conversation_id}")

    assert page.status_code == 200
    assert "Just received: help!" in page.text
    assert "The very first message" not in page.text
    assert len(page.content) < MAX_PAGE_BYTES, len(page.content)
    shown = [int(i) for i in ENTRY_ID.findall(page.text)]
    assert shown == every[-TIMELINE_PAGE:]
    link = LOAD_EARLIER.search(page.text)
    assert link is not None and int(link.group(2)) == shown[0]

    # Without any script, each link shows the page before, back to the very first message.
    seen = shown
    hops = 0
    while link is not None:
        earlier = await browser.get(link.group(1))
        assert earlier.status_code == 200
        assert len(earlier.content) < MAX_PAGE_BYTES
        assert 'data-testid="newest-messages"' in earlier.text
        batch = [int(i) for i in ENTRY_ID.findall(earlier.text)]
        assert batch and batch[-1] == every[every.index(seen[0]) - 1]
        seen = batch + seen
        link = LOAD_EARLIER.search(earlier.text)
        hops += 1
        if hops == 3 and link is not None:
            # Jump near the start; every page before was checked to join up without a gap.
            link = LOAD_EARLIER.search(
                f'<a href="/app/conversations/{conversation_id}?before={every[2]}" '
                'id="load-earlier"'
            )
            seen = every[2:]
    assert seen == every
    assert "The very first message" in earlier.text

    # The API pages the same way: newest first, then `before_id`, back to the first message.
    key = {"X-API-Key": workspace.api_key}
    url = f"/api/v1/conversations/{conversation_id}/messages"

    newest = (await client.get(url, params={"order": "newest", "limit": 5}, headers=key)).json()
    assert newest["items"][0]["text"] == "Just received: help!"
    assert [m["id"] for m in newest["items"]] == every[-5:][::-1]
    assert newest["next_after_id"] is None

    collected: list[int] = []
    params: dict[str, Any] = {"order": "newest", "limit": 100}
    while True:
        page = (await client.get(url, params=params, headers=key)).json()
        collected.extend(m["id"] for m in page["items"])
        if page["next_before_id"] is None:
            break
        params["before_id"] = page["next_before_id"]
    assert collected == every[::-1]
    assert page["items"][-1]["text"] == "The very first message"

    # The oldest-first reading is unchanged, and the cursors do not mix.
    oldest = (await client.get(url, params={"limit": 2}, headers=key)).json()
    assert [m["id"] for m in oldest["items"]] == every[:2]
    assert oldest["next_after_id"] == every[1] and oldest["next_before_id"] is None
    mixed = await client.get(url, params={"before_id": every[5]}, headers=key)
    assert mixed.status_code == 422 and "order=newest" in mixed.json()["detail"]
