"""A long conversation in a real browser: the page's script puts earlier messages above the
ones shown when "Load earlier messages" is clicked (the page stays where it is), and a live
refresh of the timeline keeps them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import insert, select

from tests.support.browser import (
    LIVE_MS,
    World,
    opened_context,
    sign_in,
    watch,
)
from threadline.adapters.db import tables as t
from threadline.conversations.queries import TIMELINE_PAGE

pytestmark = pytest.mark.anyio

MORE = 2 * TIMELINE_PAGE + 20


async def test_load_earlier_prepends_and_a_live_refresh_keeps_them(
    browser: Browser, world: World
) -> None:
    conversation_id = world.earlier_conversation_id
    start = datetime.now(UTC) - timedelta(days=5)
    async with world.runtime.sessionmaker() as session, session.begin():
        await session.execute(
            insert(t.Message),
            [
                {
                    "workspace_id": world.ws.id,
                    "conversation_id": conversation_id,
                    "inbox_id": world.ws.inboxes["email"],
                    "channel": "email",
                    "direction": "inbound",
                    "text": f"Follow-up mail {n}",
                    "attachments": [],
                    "delivery_status": "received",
                    "meta": {},
                    "created_at": start + timedelta(minutes=n),
                }
                for n in range(1, MORE + 1)
            ],
        )
    async with world.runtime.sessionmaker() as session:
        thread = [
            str(i)
            for i in (
                await session.execute(
                    select(t.Message.id)
                    .where(t.Message.conversation_id == conversation_id)
                    .order_by(t.Message.created_at, t.Message.id)
                )
            ).scalars()
        ]
    total = len(thread)
    ids = "els => els.map(e => e.getAttribute('data-message-id'))"

    async with opened_context(browser) as context:
        page = await context.new_page()
        seen = watch(page)
        await sign_in(page, world, "agent")
        url = world.url(f"/app/conversations/{conversation_id}")
        await page.goto(url)
        await expect(page.locator("body")).to_have_attribute("data-live", "ready")
        entries = page.get_by_test_id("timeline-entry")
        await expect(entries).to_have_count(TIMELINE_PAGE)
        assert await entries.evaluate_all(ids) == thread[-TIMELINE_PAGE:]

        await page.get_by_test_id("load-earlier").click()
        await expect(entries).to_have_count(2 * TIMELINE_PAGE)
        await page.get_by_test_id("load-earlier").click()
        await expect(entries).to_have_count(total)
        await expect(page.get_by_test_id("load-earlier")).to_have_count(0)
        # The whole thread in order, without leaving the page.
        assert await entries.evaluate_all(ids) == thread
        assert page.url == url

        # A note refreshes the timeline from the server: the earlier entries stay above it.
        await page.fill("#note-text", "Long thread, read from the start")
        await page.get_by_test_id("add-note").click()
        await expect(entries).to_have_count(total + 1, timeout=LIVE_MS)
        await expect(entries.last).to_contain_text("Long thread, read from the start")
        assert (await entries.evaluate_all(ids))[:total] == thread
        assert seen.errors == []
