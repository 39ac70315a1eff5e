"""Two agents on the same conversation in real browsers: while one writes a reply, the other
sees "… is writing a reply too", so that two answers do not cross; the writer's own page does
not show their own notice.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.support.browser import (
    LIVE_MS,
    World,
    opened_context,
    sign_in,
    watch,
)

pytestmark = pytest.mark.anyio


async def test_an_agent_sees_a_colleague_writing_a_reply_to_the_same_conversation(
    browser: Browser, world: World
) -> None:
    page_of = f"/app/conversations/{world.earlier_conversation_id}"
    async with opened_context(browser) as sue_context, opened_context(browser) as ada_context:
        sue = await sue_context.new_page()
        ada = await ada_context.new_page()
        sue_seen, ada_seen = watch(sue), watch(ada)
        await sign_in(sue, world, "super")
        await sign_in(ada, world, "admin")
        for page in (sue, ada):
            await page.goto(world.url(page_of))
            await expect(page.locator("body")).to_have_attribute("data-live", "ready")

        await sue.fill("#reply-text", "Hello Jan, I am looking into the courier now")
        await sue.type("#reply-text", " and")  # keystrokes, as a person types

        await expect(ada.get_by_test_id("typing-indicator")).to_have_text(
            "Sue Supervisor is writing a reply too…", timeout=LIVE_MS
        )
        await expect(ada.get_by_test_id("typing-indicator")).to_be_visible()
        # Sue's own page says nothing about Sue.
        await expect(sue.get_by_test_id("typing-indicator")).to_be_hidden()
        assert sue_seen.errors == [] and ada_seen.errors == []
