"""An admin sets up the team in the browser alone: makes a team and puts an agent in it,
gives the agent a skill, a language, a channel level and a chat limit, and the workspace
(what routing reads) has them afterwards."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.support.browser import World, admin_principal, opened_context
from tests.support.console import admin_in_section, review
from threadline.workspace import list_teams, show_agent

pytestmark = pytest.mark.anyio


async def test_an_admin_makes_a_team_and_sets_an_agents_routing_profile(
    browser: Browser, world: World
) -> None:
    async with opened_context(browser) as context:
        page, seen = await admin_in_section(context, world, "people")
        await expect(page.get_by_test_id("agent-row")).to_have_count(3)
        assert await review(page, world, "people") == []

        await page.get_by_label("New team's name").fill("Kettles")
        await page.get_by_role("button", name="Add team").click()
        await expect(page.get_by_test_id("notice")).to_have_text("The team is added.")
        team = page.get_by_test_id("team").filter(has_text="Kettles")
        await team.get_by_label("Olek Agent").check()
        await team.get_by_role("button", name="Save members").click()
        await expect(page.get_by_test_id("notice")).to_have_text("The team's members are saved.")

        await page.get_by_role("link", name="Olek Agent").click()
        await page.get_by_label("Languages").fill("pl, uk")
        await page.get_by_label("Skill 1", exact=True).fill("kettles")
        await page.locator("#skill-level-0").select_option("8")
        await page.get_by_label("Level: Chat").select_option("9")
        await page.get_by_label("At most at once: Chat").fill("2")
        await page.get_by_label("Load budget").fill("120")
        await page.get_by_test_id("save-profile").click()
        await expect(page.get_by_test_id("notice")).to_contain_text("The profile is saved")
        assert await review(page, world, "agent") == []

        # A skill without a level is refused with the reason, and nothing is changed.
        await page.get_by_label("Skill 2", exact=True).fill("toasters")
        await page.get_by_test_id("save-profile").click()
        await expect(page.get_by_test_id("problem")).to_have_text("skill 'toasters' needs a level")
        await expect(page.get_by_label("Skill 2", exact=True)).to_have_value("toasters")
        assert seen.errors == [] and seen.refused == []

    async with world.runtime.sessionmaker() as db:
        olek = await show_agent(db, admin_principal(world.ws), world.ws.agent_id)
        teams = await list_teams(db, admin_principal(world.ws))
    assert olek["languages"] == ["pl", "uk"]
    assert olek["skills"] == {"kettles": 8}
    assert olek["channel_competences"] == {"web_chat": 9}
    assert olek["capacity"] == {"budget": 120, "channel_limits": {"web_chat": 2}}
    assert [(t["name"], t["member_ids"]) for t in teams] == [("Kettles", [world.ws.agent_id])]
