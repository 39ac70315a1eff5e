"""An agent changes their own password in the browser (their other sessions end, this one
goes on), and an agent who forgot theirs asks for a link on the sign-in page, gets it by
mail through the workspace's relay and sets a new one."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.conftest import PASSWORD
from tests.support.browser import World, opened_context, sign_in, watch
from tests.support.console import review
from tests.support.inboxes import mail_through_local_relay
from tests.support.smtp_sink import SmtpSink, running_smtp_sink

pytestmark = pytest.mark.anyio

NEW_PASSWORD = "the kettle sings at seven"


async def _signs_in_with(world: World, password: str) -> int:
    async with httpx.AsyncClient(base_url=world.base_url) as api:
        answer = await api.post(
            "/api/v1/auth/login",
            json={
                "workspace": world.ws.slug,
                "email": f"agent@{world.ws.slug}.example.com",
                "password": password,
            },
        )
    return answer.status_code


async def test_an_agent_changes_their_password_and_their_other_sessions_end(
    browser: Browser, world: World
) -> None:
    async with opened_context(browser) as desk, opened_context(browser) as phone:
        elsewhere = await phone.new_page()
        await sign_in(elsewhere, world)
        page = await desk.new_page()
        seen = watch(page)
        await sign_in(page, world)
        await page.get_by_test_id("account-menu").click()
        await page.get_by_test_id("account-link").click()
        await expect(page.get_by_role("heading", name="Your account")).to_be_visible()
        assert await review(page, world, "account") == []

        await page.get_by_label("Current password").fill("not my password")
        await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        await page.get_by_label("New password again").fill(NEW_PASSWORD)
        await page.get_by_role("button", name="Change password").click()
        await expect(page.get_by_test_id("problem")).to_have_text(
            "the current password is not right"
        )

        await page.get_by_label("Current password").fill(PASSWORD)
        await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        await page.get_by_label("New password again").fill(NEW_PASSWORD + "!")
        await page.get_by_role("button", name="Change password").click()
        await expect(page.get_by_test_id("problem")).to_have_text("the two new passwords differ")

        await page.get_by_label("Current password").fill(PASSWORD)
        await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        await page.get_by_label("New password again").fill(NEW_PASSWORD)
        await page.get_by_role("button", name="Change password").click()
        await expect(page.get_by_test_id("notice")).to_contain_text("Your password is changed")

        # This browser goes on; the phone's session is over.
        await page.goto(world.url("/app/conversations"))
        await expect(page).to_have_url(re.compile(r"/app/conversations"))
        await elsewhere.goto(world.url("/app/conversations"))
        await expect(elsewhere).to_have_url(re.compile(r"/app/login"))
        assert seen.errors == [] and seen.refused == []
    assert await _signs_in_with(world, PASSWORD) == 401
    assert await _signs_in_with(world, NEW_PASSWORD) == 200


async def _mail_to(sink: SmtpSink, address: str) -> str:
    """The plain text of the first mail to `address` (it leaves just after the answer)."""
    for _ in range(100):
        mails = [m for m in sink.received if address in m.rcpt_tos]
        if mails:
            body = mails[0].message.get_body(("plain",))
            assert body is not None
            return str(body.get_content())
        await asyncio.sleep(0.05)
    raise AssertionError(f"no mail to {address}")


async def test_a_forgotten_password_is_reset_by_a_mailed_link(
    browser: Browser, world: World
) -> None:
    email = f"agent@{world.ws.slug}.example.com"
    with running_smtp_sink() as sink:
        await mail_through_local_relay(
            world.runtime, world.ws.inboxes["email"], f"help@{world.ws.slug}.example.com", sink.port
        )
        async with opened_context(browser) as context:
            page = await context.new_page()
            seen = watch(page)
            await page.goto(world.url("/app/login"))
            await page.get_by_test_id("forgot-link").click()
            assert await review(page, world, "forgot") == []
            # An address without an account gets the same answer, and no mail.
            await page.get_by_label("Email").fill("nobody@kettles.example")
            await page.get_by_role("button", name="Mail me a link").click()
            await expect(page.get_by_test_id("forgot-sent")).to_contain_text("If nobody@")
            await page.goto(world.url("/app/forgot"))
            await page.get_by_label("Email").fill(email)
            await page.get_by_role("button", name="Mail me a link").click()
            await expect(page.get_by_test_id("forgot-sent")).to_contain_text(f"If {email}")

            text = await _mail_to(sink, email)
            found = re.search(r"https?://\S+/app/reset/\S+", text)
            assert found, text
            await page.goto(found.group(0))
            assert await review(page, world, "reset") == []
            await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
            await page.get_by_label("New password again").fill(NEW_PASSWORD)
            await page.get_by_role("button", name="Save and sign in").click()
            await page.wait_for_url(re.compile(r"/app/conversations"))
            assert seen.errors == [] and seen.refused == []
        assert [m.rcpt_tos for m in sink.received] == [[email]]
    assert await _signs_in_with(world, NEW_PASSWORD) == 200
    assert await _signs_in_with(world, PASSWORD) == 401
