"""An admin signs in and lands on the console's get-started checklist, which knows what the
workspace has already set up."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.support.browser import World, opened_context, sign_in, watch
from tests.support.console import review

pytestmark = pytest.mark.anyio


async def test_an_admin_lands_on_the_checklist_and_an_agent_cannot_open_it(
    browser: Browser, world: World
) -> None:
    async with opened_context(browser) as admin_side, opened_context(browser) as agent_side:
        admin = await admin_side.new_page()
        seen = watch(admin)
        await sign_in(admin, world, "admin")
        steps = admin.get_by_test_id("checklist")
        await expect(steps).to_be_visible()
        # The world has its channels, three agents and a conversation, but no team yet.
        await expect(admin.get_by_test_id("step-channel")).to_have_attribute("data-done", "yes")
        await expect(admin.get_by_test_id("step-people")).to_have_attribute("data-done", "yes")
        await expect(admin.get_by_test_id("step-teams")).to_have_attribute("data-done", "no")
        await expect(admin.get_by_test_id("step-teams").get_by_role("link")).to_have_attribute(
            "href", "/app/admin/people#teams"
        )
        assert await review(admin, world, "start") == []
        assert seen.errors == [] and seen.refused == []

        agent = await agent_side.new_page()
        await sign_in(agent, world, "agent")
        await expect(agent.get_by_test_id("nav-admin")).to_have_count(0)
        response = await agent.goto(world.url("/app/admin"))
        assert response is not None and response.status == 403
