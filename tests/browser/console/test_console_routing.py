"""An admin switches routing to offer mode with a 30-second timeout in the browser; the next
chat a visitor starts is offered to the online agent instead of assigned, and the page's
recent decisions show why. A negative timeout is refused with the reason, the entered value
kept, and the stored settings stay as they were."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.browser import World, visitor_writes
from tests.support.console import console_section, review
from tests.support.routing import admin_of, assignee_of, make_team, offers_of, set_mode
from threadline.routing import get_settings, put_team_routing, recent_decisions

pytestmark = pytest.mark.anyio


async def _stored_steps(world: World) -> tuple[str, dict[str, object]]:
    async with world.runtime.sessionmaker() as session:
        settings = await get_settings(session, admin_of(world.ws.id))
    return settings["mode"], settings["steps"]


async def _offers_once_routed(world: World, conversation: int) -> list[tuple[int, str]]:
    """Routing runs after the message's commit: wait (bounded) for its offer."""
    for _ in range(50):
        offers = await offers_of(world.runtime, conversation)
        if offers:
            return offers
        await asyncio.sleep(0.1)
    return []


async def _night_shift_without_sticky_wait(world: World) -> None:
    night = await make_team(world.runtime, world.ws.id, "Night shift", [])
    await make_team(world.runtime, world.ws.id, "Day shift", [])
    async with world.runtime.uow() as uow:
        await put_team_routing(uow, admin_of(world.ws.id), night, {}, {"sticky_wait_seconds": 0})
        await uow.commit()


async def _save_offer_mode(page: Page, seconds: str) -> None:
    await page.get_by_label("Offer", exact=True).check()
    await page.get_by_label("Offer timeout (seconds)").fill(seconds)
    await page.get_by_role("button", name="Save routing").click()


async def test_offer_mode_chosen_in_the_console_offers_the_next_chat_and_explains_it(
    browser: Browser, world: World
) -> None:
    await set_mode(world.runtime, world.ws.id, "manual")
    await _night_shift_without_sticky_wait(world)
    async with console_section(browser, world, "routing") as page:
        await expect(page.get_by_label("Manual")).to_be_checked()
        teams = page.get_by_test_id("team-row")
        await expect(teams.filter(has_text="Day shift")).to_contain_text("Workspace default")
        await expect(teams.filter(has_text="Night shift")).to_contain_text(
            "Sticky wait (seconds): 0"
        )
        await _save_offer_mode(page, "30")
        await expect(page.get_by_test_id("notice")).to_contain_text("Routing is saved")
        await expect(page.get_by_label("Offer", exact=True)).to_be_checked()
        await expect(page.get_by_label("Offer timeout (seconds)")).to_have_value("30")
        mode, steps = await _stored_steps(world)
        assert (mode, steps["offer_mode"], steps["offer_timeout_seconds"]) == ("auto", True, 30)

        conversation = await visitor_writes(world, "Do you still have the copper kettle?")
        assert await _offers_once_routed(world, conversation) == [(world.ws.agent_id, "pending")]
        assert await assignee_of(world.runtime, conversation) is None

        await page.reload()
        async with world.runtime.sessionmaker() as session:
            [latest, *_] = await recent_decisions(session, admin_of(world.ws.id))
        assert (latest["conversation_id"], latest["kind"]) == (conversation, "offered")
        assert latest["reason"]
        decision = page.get_by_test_id("decision").first
        await expect(decision).to_have_attribute("data-conversation-id", str(conversation))
        await expect(decision).to_contain_text("offered to")
        await expect(decision.get_by_test_id("decision-reason")).to_have_text(latest["reason"])
        await expect(decision.get_by_role("link")).to_have_attribute(
            "href", f"/app/conversations/{conversation}"
        )
        assert await review(page, world, "routing") == []

        await _save_offer_mode(page, "-5")
        await expect(page.get_by_test_id("problem")).to_contain_text(
            "offer_timeout_seconds must be at least 1"
        )
        await expect(page.get_by_label("Offer timeout (seconds)")).to_have_value("-5")
        await expect(page.get_by_label("Offer", exact=True)).to_be_checked()
    assert (await _stored_steps(world))[1]["offer_timeout_seconds"] == 30
