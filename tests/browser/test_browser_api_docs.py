"""The API documentation works on a machine without internet: /docs (Swagger UI) renders
every operation in Chromium while the browser may reach nothing but our own server, and the
page names no other host.

SQLite only: what is checked is the pages and their assets, not the database.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page, Route, expect

from tests.support.browser import (
    ACTION_MS,
    ARTIFACTS,
    browser,  # noqa: F401  (a fixture)
    opened_context,
)
from tests.support.server import running_server
from threadline.bootstrap import Runtime

pytestmark = pytest.mark.anyio


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "docs.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def base_url(runtime: Runtime) -> AsyncIterator[str]:
    async with running_server(runtime) as address:
        yield f"http://{address}"


async def top_of_page(page: Page, name: str) -> None:
    # The pages list every operation: a full-page picture of them would take too long.
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / name))


def operation_count(schema: dict[str, object]) -> int:
    paths = schema["paths"]
    assert isinstance(paths, dict)
    methods = {"get", "post", "put", "patch", "delete"}
    return sum(1 for item in paths.values() for method in item if method in methods)


async def test_docs_page_names_no_other_host(base_url: str) -> None:
    page_path = "/docs"
    async with httpx.AsyncClient(base_url=base_url) as client:
        page = await client.get(page_path)
        assert page.status_code == 200
        # Every script, style sheet, font and icon the page loads is a path on this server.
        loaded = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', page.text)
        assert loaded, page.text
        for url in loaded:
            assert not urlsplit(url).netloc, f"{page_path} loads {url} from another host"
            asset = await client.get(url)
            assert asset.status_code == 200, url
        assert "fonts.googleapis" not in page.text


async def test_swagger_ui_renders_offline(browser: Browser, base_url: str) -> None:  # noqa: F811
    own = urlsplit(base_url).netloc
    refused: list[str] = []

    async def offline(route: Route) -> None:
        # The machine has no internet: anything not on our server never answers.
        if urlsplit(route.request.url).netloc == own:
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.abort("internetdisconnected")

    async with httpx.AsyncClient(base_url=base_url) as client:
        schema = (await client.get("/openapi.json")).json()
    operations = operation_count(schema)
    assert operations > 50

    async with opened_context(browser) as context:
        await context.route("**/*", offline)
        page = await context.new_page()
        await page.goto(f"{base_url}/docs")
        await expect(page.locator(".swagger-ui .info .title")).to_contain_text(
            "Threadline API", timeout=ACTION_MS
        )
        # Every operation of the schema is listed, with the sign-in among them.
        await expect(page.locator(".opblock")).to_have_count(operations, timeout=ACTION_MS)
        await expect(
            page.locator(".opblock-summary-path", has_text="/api/v1/auth/login")
        ).to_be_visible()
        await top_of_page(page, "api-docs-swagger-offline.png")

    assert refused == []
