"""Browser checks every admin-console page passes: axe-core finds no serious or critical
violation, in English and Polish, at a desktop (1440x900) and a phone (390x844) size, and a
screenshot of each is written to `test-artifacts/console/` for people to look at.

axe-core comes from the npm lock with the design system (node_modules/axe-core); it is run
in the page through DevTools, so the page's own Content-Security-Policy stays in force."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Page

from tests.support.browser import (
    ARTIFACTS,
    Watched,
    World,
    opened_context,
    sign_in,
    watch,
)

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORTS = {"desktop": (1440, 900), "mobile": (390, 844)}
REVIEWED_LANGUAGES = ("en", "pl")
SERIOUS = ("serious", "critical")
_RUN_AXE = """async (impacts) => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter((v) => impacts.includes(v.impact))
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.slice(0, 3)
      .map((n) => n.target.join(' ')).join(', ')}`);
}"""


@cache
def axe_source() -> str:
    if not AXE.exists():
        raise AssertionError(f"axe-core is missing at {AXE}: run `make install` (npm ci)")
    return AXE.read_text(encoding="utf-8")


async def serious_violations(page: Page) -> list[str]:
    """What axe-core reports as serious or critical on the page as it is now."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(axe_source())
    found: list[str] = await page.evaluate(_RUN_AXE, list(SERIOUS))
    return found


async def use_language(page: Page, world: World, language: str) -> None:
    await page.context.add_cookies([{"name": "tl_lang", "value": language, "url": world.base_url}])


async def review(page: Page, world: World, name: str) -> list[str]:
    """The page now open, in each reviewed language and size: screenshots, and every serious
    accessibility violation found (prefixed with where). Leaves the page in English, desktop."""
    ARTIFACTS.joinpath("console").mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for language in REVIEWED_LANGUAGES:
        await use_language(page, world, language)
        await page.reload()
        await page.locator("main").wait_for()
        for size, (width, height) in VIEWPORTS.items():
            # Media queries follow the new size at once: one load per language is enough.
            await page.set_viewport_size({"width": width, "height": height})
            shot = ARTIFACTS / "console" / f"{name}-{language}-{size}.png"
            await page.screenshot(path=str(shot), full_page=True)
            problems += [f"{name} {language} {size}: {v}" for v in await serious_violations(page)]
    await use_language(page, world, "en")
    await page.set_viewport_size({"width": 1440, "height": 900})
    await page.reload()
    return problems


async def admin_in_section(
    context: BrowserContext, world: World, section: str
) -> tuple[Page, Watched]:
    """A new page of `context`, watched, where the admin has signed in and opened the
    console's `section` (its key, e.g. "service_levels") from the menu."""
    page = await context.new_page()
    seen = watch(page)
    await sign_in(page, world, "admin")
    await page.get_by_test_id(f"console-{section}").click()
    return page, seen


@asynccontextmanager
async def console_section(browser: Browser, world: World, section: str) -> AsyncIterator[Page]:
    """An admin signed in, on the console's `section` (chosen from its menu), in a browser
    profile of its own. When the test leaves it, the page must have shown no error dialog,
    script error or CSP refusal."""
    async with opened_context(browser) as context:
        page, seen = await admin_in_section(context, world, section)
        yield page
        assert seen.dialogs == [] and seen.errors == [] and seen.refused == []
