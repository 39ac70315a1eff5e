"""An admin changes an agent's load budget in the console, then finds that change in the audit
log with its before and after, filters the log down to it, and downloads it as CSV."""

from __future__ import annotations

import csv
import io

import anyio
import pytest
from playwright.async_api import Browser, expect

from tests.support.browser import World
from tests.support.console import console_section, review

pytestmark = pytest.mark.anyio


async def test_an_admins_change_is_in_the_audit_log_filtered_and_exported(
    browser: Browser, world: World
) -> None:
    async with console_section(browser, world, "people") as page:
        await page.get_by_role("link", name="Olek Agent").click()
        await page.get_by_label("Load budget").fill("135")
        await page.get_by_test_id("save-profile").click()
        await expect(page.get_by_test_id("notice")).to_contain_text("The profile is saved")

        await page.get_by_test_id("console-audit").click()
        change = page.get_by_test_id("audit-entry").filter(has_text="agent.updated").first
        await expect(change).to_contain_text("Ada Admin")
        await change.get_by_text("before and after").click()
        details = change.get_by_test_id("audit-change")
        await expect(details.get_by_role("row").filter(has_text="capacity")).to_contain_text("135")
        assert await review(page, world, "audit") == []

        await page.get_by_label("Who").fill("ada")
        await page.get_by_label("Action").fill("agent.")
        await page.get_by_role("button", name="Filter").click()
        entries = page.get_by_test_id("audit-entry")
        await expect(entries.first).to_have_attribute("data-action", "agent.updated")
        for action in await entries.evaluate_all("rows => rows.map(r => r.dataset.action)"):
            assert action.startswith("agent."), action
        await expect(page.get_by_label("Action")).to_have_value("agent.")

        async with page.expect_download() as downloading:
            await page.get_by_test_id("audit-export").click()
        download = await downloading.value
        exported = await anyio.Path(await download.path()).read_text(encoding="utf-8")

    rows = list(csv.DictReader(io.StringIO(exported)))
    assert rows and all(r["action"].startswith("agent.") for r in rows)
    budget = next(r for r in rows if r["object_id"] == str(world.ws.agent_id))
    assert budget["actor_name"] == "Ada Admin"
    assert '"budget": 135' in budget["after"]
