"""An admin keeps the service levels in the browser, and the product keeps to them: a
calendar made with split shifts and a policy on it set a new email's reply deadline, and
closing the day that reply was due moves the deadline; a wrap-up code that needs a follow-up
is offered to agents and cannot be used without planning one.

The steps are the admin's and the agent's clicks only; what they changed is read from outside,
through the API as the shop (the world's API key) or an agent. Nothing here depends on which
weekday the tests run: the calendar is open every day, and the day closed is the one the
deadline fell on, whichever that is."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import customer_writes, login
from tests.support.browser import CUSTOMER_EMAIL, World, opened_context, sign_in
from tests.support.console import admin_in_section, review
from tests.support.warsaw_time import WARSAW
from threadline.conversations.calls import CallDirection, CallEvent, record_call_event

pytestmark = pytest.mark.anyio

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SPLIT_SHIFTS = (("08:00", "12:00"), ("13:00", "17:00"))
DASH = "\u2013"  # between a shift's start and end in the preview


async def _first_response_due(world: World, conversation_id: int) -> datetime:
    async with httpx.AsyncClient(base_url=world.base_url) as shop:
        answer = await shop.get(
            f"/api/v1/conversations/{conversation_id}/sla",
            headers={"X-API-Key": world.ws.api_key},
        )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    first = report["first_response"]
    assert first is not None and first["state"] == "running", report
    # The policy made in the browser: an hour of the calendar made in the browser.
    clock = next(c for c in report["clocks"] if c["kind"] == "first_response")
    assert clock["target_seconds"] == 3600 and clock["calendar_id"] is not None, clock
    return datetime.fromisoformat(first["due_at"])


async def _customer_emails(world: World, address: str) -> int:
    """The conversation a customer's email (through the shop's API access) lands in."""
    async with httpx.AsyncClient(base_url=world.base_url) as shop:
        stored = await customer_writes(
            shop, world.ws, "email", "email", address, "Where is my parcel?"
        )
    return int(stored["conversation_id"])


async def _make_split_shift_calendar(page: Page) -> None:
    await page.get_by_role("link", name="Add a calendar").click()
    await page.get_by_label("Name", exact=True).fill("Shop hours")
    for day in WEEKDAYS:
        for number, (start, end) in enumerate(SPLIT_SHIFTS, start=1):
            await page.get_by_label(f"{day}, shift {number} from").fill(start)
            await page.get_by_label(f"{day}, shift {number} to").fill(end)
    await page.get_by_label("Public holidays of").select_option("PL")
    await page.get_by_role("button", name="Save the calendar").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("The calendar is saved")


async def _make_email_policy(page: Page) -> None:
    await page.get_by_test_id("console-service_levels").click()
    await page.get_by_role("link", name="Add a policy").click()
    await page.get_by_label("Name", exact=True).fill("Email replies")
    await page.get_by_label("Email", exact=True).check()
    await page.get_by_label("First response (minutes)").fill("60")
    await page.get_by_label("Counts on").select_option(label="Shop hours")
    await page.get_by_role("button", name="Save the policy").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("The SLA policy is saved")


async def test_closing_the_day_a_reply_is_due_moves_its_deadline(
    browser: Browser, world: World
) -> None:
    async with opened_context(browser) as context:
        page, seen = await admin_in_section(context, world, "service_levels")
        assert await review(page, world, "service-levels") == []
        await _make_split_shift_calendar(page)
        preview = page.get_by_test_id("preview-day")
        await expect(preview).to_have_count(14)
        open_days = preview.filter(has_text=f"08:00{DASH}12:00, 13:00{DASH}17:00")
        assert await open_days.count() >= 10  # every day but Polish public holidays
        assert await review(page, world, "service-levels-calendar") == []
        await _make_email_policy(page)
        await page.get_by_role("link", name="Email replies").click()
        assert await review(page, world, "service-levels-policy") == []

        conversation_id = await _customer_emails(world, "parcel@example.com")
        due = await _first_response_due(world, conversation_id)
        due_day = due.astimezone(WARSAW).date()
        local = due.astimezone(WARSAW).time()
        assert any(start <= local.strftime("%H:%M") <= end for start, end in SPLIT_SHIFTS), (
            f"the deadline {due} is not in the open hours"
        )

        await page.get_by_test_id("console-service_levels").click()
        await page.get_by_role("link", name="Shop hours").click()
        await page.get_by_label("Closed days of your own").fill(due_day.isoformat())
        await page.get_by_role("button", name="Save the calendar").click()
        await expect(page.get_by_test_id("notice")).to_contain_text("deadlines on it are")
        closed = page.locator(f"[data-testid=preview-day][data-day='{due_day.isoformat()}']")
        await expect(closed).to_contain_text("Closed — a closed day of your own")
        assert seen.errors == [] and seen.refused == []

    moved = await _first_response_due(world, conversation_id)
    assert moved > due
    assert moved.astimezone(WARSAW).date() > due_day
    # The hour it has to wait is still working time: at least the next morning's first one.
    assert moved - due >= timedelta(hours=1)


async def _codes_the_shop_sees(world: World) -> dict[str, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=world.base_url) as shop:
        answer = await shop.get("/api/v1/wrap-up-codes", headers={"X-API-Key": world.ws.api_key})
    assert answer.status_code == 200, answer.text
    return {code["code"]: code for code in answer.json()}


async def _agent_resolves(world: World, conversation_id: int) -> httpx.Response:
    """The agent resolves by setting the status with the code, as the API allows."""
    async with httpx.AsyncClient(base_url=world.base_url) as agent:
        headers = await login(agent, world.ws.slug, "agent")
        return await agent.post(
            f"/api/v1/conversations/{conversation_id}/status",
            headers=headers,
            json={
                "status": "resolved",
                "wrap_up_code": "callback_promised",
                "summary": "Promised a call back",
            },
        )


async def _agent_wraps_up(world: World, conversation_id: int, **body: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=world.base_url) as agent:
        headers = await login(agent, world.ws.slug, "agent")
        return await agent.post(
            f"/api/v1/conversations/{conversation_id}/wrap-up",
            headers=headers,
            json={"code": "callback_promised", "summary": "Promised a call back", **body},
        )


async def test_a_wrap_up_code_that_needs_a_follow_up_is_offered_and_kept_to(
    browser: Browser, world: World
) -> None:
    conversation_id = await _customer_emails(world, "callme@example.com")
    async with opened_context(browser) as context:
        admin, seen = await admin_in_section(context, world, "service_levels")
        await admin.get_by_label("Code", exact=True).fill("callback_promised")
        await admin.get_by_label("Name agents see").fill("Callback promised")
        await admin.locator("#new-code-follow-up").check()
        await admin.get_by_role("button", name="Add the code").click()
        await expect(admin.get_by_test_id("notice")).to_contain_text("The wrap-up code is added")
        row = admin.locator("[data-testid=code][data-code=callback_promised]")
        await expect(row.get_by_test_id("needs-follow-up")).to_be_visible()
        assert seen.errors == [] and seen.refused == []

    offered = await _codes_the_shop_sees(world)
    assert offered["callback_promised"]["follow_up_required"] is True
    assert offered["solved"]["follow_up_required"] is False

    async with opened_context(browser) as context:
        agent = await context.new_page()
        await sign_in(agent, world, "agent")
        await agent.goto(world.url(f"/app/conversations/{conversation_id}"))
        option = agent.locator("#wrap-code option[value=callback_promised]")
        await expect(option).to_have_text("Callback promised (plan a follow-up)")

    for refused in (
        await _agent_wraps_up(world, conversation_id),
        await _agent_resolves(world, conversation_id),
    ):
        assert refused.status_code == 422, refused.text
        assert "needs a follow-up" in refused.json()["detail"]
    tomorrow = (datetime.now(WARSAW) + timedelta(days=1)).isoformat()
    planned = await _agent_wraps_up(
        world, conversation_id, follow_up={"due_at": tomorrow, "note": "Call about the parcel"}
    )
    assert planned.status_code == 200, planned.text
    assert planned.json()["follow_up"]["kind"] == "follow_up"


async def test_a_retired_wrap_up_code_is_no_longer_offered(browser: Browser, world: World) -> None:
    async with opened_context(browser) as context:
        page, seen = await admin_in_section(context, world, "service_levels")
        await page.get_by_role("button", name="Deactivate no_action_needed").click()
        await expect(page.get_by_test_id("notice")).to_contain_text("deactivated")
        row = page.locator("[data-testid=code][data-code=no_action_needed]")
        await expect(row).to_have_attribute("data-active", "no")
        assert seen.errors == [] and seen.refused == []
    assert "no_action_needed" not in await _codes_the_shop_sees(world)


async def test_a_longer_reopen_window_brings_the_earlier_matter_back(
    browser: Browser, world: World
) -> None:
    """The world's customer had a matter resolved ten days ago: beyond the usual seven-day
    window, so writing again starts anew. With a 30-day window it re-opens instead."""
    async with opened_context(browser) as context:
        page, seen = await admin_in_section(context, world, "service_levels")
        await expect(page.get_by_label("Days")).to_have_value("7")
        await page.get_by_label("Days").fill("30")
        await page.get_by_role("button", name="Save the window").click()
        await expect(page.get_by_test_id("notice")).to_contain_text("re-open window is saved")
        await expect(page.get_by_label("Days")).to_have_value("30")
        assert seen.errors == [] and seen.refused == []
    assert await _customer_emails(world, CUSTOMER_EMAIL) == world.earlier_conversation_id


async def _callbacks_the_shop_sees(world: World) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=world.base_url) as shop:
        answer = await shop.get(
            "/api/v1/tasks", params={"kind": "callback"}, headers={"X-API-Key": world.ws.api_key}
        )
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return [task for task in found if task["kind"] == "callback"]


async def test_a_missed_call_is_due_back_by_the_callback_time_set_in_the_browser(
    browser: Browser, world: World
) -> None:
    async with opened_context(browser) as context:
        page, seen = await admin_in_section(context, world, "service_levels")
        minutes = page.get_by_label("voice inbox: call back within (minutes)")
        await expect(minutes).to_have_value("60")
        await minutes.fill("15")
        await page.get_by_role("button", name="Save the callback time of voice inbox").click()
        await expect(page.get_by_test_id("notice")).to_contain_text("callback time is saved")
        await expect(minutes).to_have_value("15")
        assert seen.errors == [] and seen.refused == []
    # The phone line reports a call nobody took, as its adapter does.
    await record_call_event(
        world.runtime.uow,
        world.ws.id,
        CallEvent(
            inbox_id=world.ws.inboxes["voice"],
            call_id="CA-missed-after-hours",
            direction=CallDirection.INBOUND,
            from_number="+48601999888",
            to_number="+48223074000",
            status="no-answer",
        ),
    )
    (callback,) = await _callbacks_the_shop_sees(world)
    planned = datetime.fromisoformat(callback["due_at"]) - datetime.fromisoformat(
        callback["created_at"]
    )
    # created_at and due_at are read from the clock a moment apart; the default is an hour.
    assert abs(planned - timedelta(minutes=15)) < timedelta(seconds=5)
