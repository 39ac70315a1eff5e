"""An admin signs in and lands on the console's get-started checklist, which knows what the
workspace has already set up; in Ukrainian too, chosen from the language menu."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.browser import ARTIFACTS, World, opened_context, sign_in, watch
from tests.support.console import VIEWPORTS, review, serious_violations

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
        # A done step still leads to its page: the channels the world has connected.
        await admin.get_by_test_id("step-channel-open").click()
        await expect(admin).to_have_url(world.url("/app/admin/channels"))
        await expect(admin.get_by_test_id("channel")).to_have_count(len(world.ws.inboxes))
        await admin.go_back()
        await check_in_ukrainian_from_the_menu(admin)
        assert seen.errors == [] and seen.refused == []

        agent = await agent_side.new_page()
        await sign_in(agent, world, "agent")
        await expect(agent.get_by_test_id("nav-admin")).to_have_count(0)
        response = await agent.goto(world.url("/app/admin"))
        assert response is not None and response.status == 403


async def check_in_ukrainian_from_the_menu(page: Page) -> None:
    """The console's review covers English and Polish; Ukrainian gets this one look: chosen
    from the language menu, no serious violation at either size, screenshots to look at."""
    await page.get_by_test_id("language").click()
    await page.get_by_test_id("language-uk").click()
    await expect(page.locator("html")).to_have_attribute("lang", "uk")
    await expect(page.get_by_role("heading", name="Початок роботи", exact=True)).to_be_visible()
    await expect(page.get_by_test_id("step-teams")).to_contain_text("Створіть команди")
    await expect(page.get_by_test_id("language")).to_contain_text("Українська")
    ARTIFACTS.joinpath("console").mkdir(parents=True, exist_ok=True)
    for size, (width, height) in VIEWPORTS.items():
        await page.set_viewport_size({"width": width, "height": height})
        shot = ARTIFACTS / "console" / f"start-uk-{size}.png"
        await page.screenshot(path=str(shot), full_page=True)
        assert await serious_violations(page) == [], size
