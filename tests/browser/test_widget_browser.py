"""The widget in a real browser: a hostile host page cannot break it, the pre-chat form,
queue position, the offline email form, an invitation, and script payloads shown inert."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Route, expect
from sqlalchemy import select

from tests.conftest import WorkspaceFixture, make_workspace
from tests.support.browser import (
    LIVE_MS,
    admin_principal,
    agent_principal,
    browser,  # noqa: F401  (a fixture)
    canaries,
    chromium_or_skip,
    opened_context,
    watch,
)
from tests.support.server import running_server
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime, build_runtime
from threadline.config import Settings
from threadline.conversations.replies import ReplyRequest, reply
from threadline.web_chat.widget_inboxes import update_widget_settings

pytestmark = pytest.mark.anyio

XSS = '<img src=x onerror="window.__xss=\'widget\'"><script>window.__xss="script"</script>'
HOSTILE_HOST = """<!doctype html><html><head><style>
iframe { display: none !important; width: 1px !important; }
* { font-size: 2px !important; }
</style></head><body><h1>Checkout</h1>
<script>window.alert = () => { throw new Error("host broke alert") };</script>
<script src="/widget/loader.js" data-inbox="KEY" data-lang="pl" async></script>
</body></html>"""


@pytest.fixture
async def served(settings: Settings) -> AsyncIterator[tuple[str, Runtime, WorkspaceFixture]]:
    chromium_or_skip()
    runtime = build_runtime(settings)
    try:
        ws = await make_workspace(runtime, "shop")
        async with running_server(runtime) as address:
            yield f"http://{address}", runtime, ws
    finally:
        await runtime.close()


async def test_widget_in_a_hostile_page_prechat_offline_invitation_and_inert_payloads(
    browser: Browser,  # noqa: F811
    served: tuple[str, Runtime, WorkspaceFixture],
) -> None:
    base, runtime, ws = served
    async with runtime.uow() as uow:
        view = await update_widget_settings(
            uow,
            admin_principal(ws),
            ws.inboxes["web_chat"],
            {
                "prechat_enabled": True,
                "invitations": [
                    {"url_pattern": "/checkout*", "seconds_on_page": 1, "message": "Pomóc?"}
                ],
            },
        )
        await uow.commit()
    host = HOSTILE_HOST.replace("KEY", view["public_key"])

    async with opened_context(browser) as context:
        page = await context.new_page()
        seen = watch(page)

        async def host_page(route: Route) -> None:
            await route.fulfill(body=host, content_type="text/html")

        await page.route(f"{base}/checkout", host_page)
        await page.goto(f"{base}/checkout")
        frame_element = page.locator("iframe#threadline-chat-frame")
        await expect(frame_element).to_be_visible()
        assert await frame_element.get_attribute("title") == "Chat"
        chat = page.frame_locator("iframe#threadline-chat-frame")

        # The invitation opens the widget by itself after a second on /checkout, in Polish.
        await expect(chat.locator("[data-testid=widget-invitation]")).to_have_text(
            "Pomóc?", timeout=LIVE_MS
        )
        box = await frame_element.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 400

        # Pre-chat form, then an offline notice and the email form after the first message.
        form = chat.locator("[data-testid=prechat-form]")
        await expect(form).to_be_visible()
        await expect(chat.locator("[data-testid=widget-offline]")).to_be_visible()
        await form.locator("input[name=name]").fill(XSS)
        await form.locator("input[name=email]").fill("new.buyer@example.com")
        await form.locator("button[type=submit]").click()
        await chat.locator("textarea[name=message]").fill(XSS)
        await chat.locator("[data-testid=widget-send]").click()
        mine = chat.locator("[data-testid=widget-message][data-direction=inbound]")
        await expect(mine).to_have_text([XSS], timeout=LIVE_MS)
        assert int(await mine.get_attribute("data-seq") or "0") > 0
        # The whole sentence, in Polish. No chat has been handled yet, so there is no history
        # to estimate the wait from: the place alone, without a made-up number of minutes.
        await expect(chat.locator("[data-testid=queue-position]")).to_have_text(
            re.compile(r"^Jesteś 1\. w kolejce\.$")
        )
        offline_form = chat.locator("[data-testid=offline-form]")
        await expect(offline_form).to_be_visible()
        await offline_form.locator("input[name=offline_email]").fill("new.buyer@example.com")
        await offline_form.locator("button[type=submit]").click()
        await expect(chat.locator("li.system")).to_contain_text("new.buyer@example.com")

        # The agent answers with a payload too: it shows as text, with the default avatar.
        async with runtime.sessionmaker() as session:
            conversation_id = (
                await session.execute(
                    select(t.Conversation.id).where(t.Conversation.workspace_id == ws.id)
                )
            ).scalar_one()
        async with runtime.uow() as uow:
            await reply(uow, agent_principal(ws), ReplyRequest(conversation_id, XSS))
            await uow.commit()
        answer = chat.locator("[data-testid=widget-message][data-direction=outbound]")
        await expect(answer).to_contain_text(XSS, timeout=LIVE_MS)
        await expect(answer.locator(".author-name")).to_have_text("Olek Agent")
        photo = answer.locator("img.author-photo")
        assert (await photo.get_attribute("src") or "").endswith("/widget/static/avatar.svg")
        assert await photo.evaluate("img => img.complete && img.naturalWidth > 0")

        assert await canaries(page) == {}
        assert seen.errors == [] and seen.dialogs == []
        assert await page.evaluate(
            "() => Object.keys(window).filter(k => /hreadline/.test(k))"
        ) == ["ThreadlineChat"]
