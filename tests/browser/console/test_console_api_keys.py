"""An admin makes an API key for the shop in the browser, the shop calls the API with it, and
once the admin revokes it in the browser the same call is refused."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.support.browser import World, opened_context
from tests.support.console import admin_in_section, review

pytestmark = pytest.mark.anyio


async def _shop_reads_its_conversation(world: World, key: str) -> int:
    async with httpx.AsyncClient(base_url=world.base_url) as shop:
        answer = await shop.get(
            f"/api/v1/conversations/{world.earlier_conversation_id}", headers={"X-API-Key": key}
        )
    return answer.status_code


async def test_an_admin_makes_a_key_the_shop_uses_it_and_revoking_it_shuts_the_shop_out(
    browser: Browser, world: World
) -> None:
    async with opened_context(browser) as context:
        page, seen = await admin_in_section(context, world, "api_keys")
        await page.get_by_label("Who uses it").fill("Shop orders")
        await page.get_by_role("button", name="Make a key").click()
        shown = page.get_by_test_id("new-key-value")
        await expect(shown).to_be_visible()
        key = await shown.input_value()
        assert await _shop_reads_its_conversation(world, key) == 200
        # Shown once: the page opened again has only the key's prefix.
        await page.get_by_test_id("console-api_keys").click()
        await expect(page.get_by_test_id("new-key")).to_have_count(0)
        await expect(page.get_by_test_id("key").filter(has_text="Shop orders")).to_have_count(1)
        assert await review(page, world, "api-keys") == []
        assert key not in await page.content()

        row = page.get_by_test_id("key").filter(has_text="Shop orders")
        await row.get_by_role("button", name="Revoke “Shop orders”").click()
        await expect(page.get_by_test_id("notice")).to_contain_text("The key is revoked")
        await expect(row).to_have_attribute("data-active", "no")
        assert seen.errors == [] and seen.refused == []
    assert await _shop_reads_its_conversation(world, key) == 401
