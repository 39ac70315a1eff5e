"""An admin invites a new agent in the browser; the invitation mail leaves through the
workspace's SMTP relay; the new agent follows its link, chooses a password, goes online and
is routed the next chat. The link works once; a relay that refuses shows its answer and the
link to pass on by hand. Signing in again later works with the chosen password only."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.support.browser import World, opened_context, sign_in, visitor_writes, watch
from tests.support.console import review
from tests.support.inboxes import mail_through_local_relay
from tests.support.routing import assignee_of, set_mode, set_presence
from tests.support.smtp_sink import PERMANENT, SmtpSink, running_smtp_sink

pytestmark = pytest.mark.anyio

NEW_AGENT = "nina@kettles.example"
NEW_PASSWORD = "a kettle on every desk"


async def _workspace_mails_through(world: World, sink: SmtpSink) -> None:
    address = f"help@{world.ws.slug}.example.com"
    await mail_through_local_relay(world.runtime, world.ws.inboxes["email"], address, sink.port)


async def _invite(page: Page, name: str, email: str, role: str) -> None:
    await page.get_by_test_id("console-people").click()
    form = page.get_by_test_id("invite-form")
    await form.get_by_label("Name").fill(name)
    await form.get_by_label("Email").fill(email)
    await form.get_by_label("Role").select_option(label=role)
    await form.get_by_role("button", name="Send invitation").click()


def _link_in(sink: SmtpSink, to: str) -> str:
    [mail] = [m for m in sink.received if to in m.rcpt_tos]
    text = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(r"https?://\S+/app/join/\S+", text)
    assert found, text
    return found.group(0)


async def test_an_invited_agent_joins_by_the_mailed_link_and_is_routed_a_chat(
    browser: Browser, world: World
) -> None:
    await set_mode(world.runtime, world.ws.id, "auto")
    await set_presence(world.runtime, world.ws.id, world.ws.agent_id, online=False)
    with running_smtp_sink() as sink:
        await _workspace_mails_through(world, sink)
        async with opened_context(browser) as admin_side:
            admin = await admin_side.new_page()
            seen = watch(admin)
            await sign_in(admin, world, "admin")
            await _invite(admin, "Nina Newcomer", NEW_AGENT, "Agent")
            await expect(admin.get_by_test_id("notice")).to_have_text("The invitation is mailed.")
            row = admin.get_by_test_id("agent-row").filter(has_text="Nina Newcomer")
            await expect(row.get_by_test_id("invited")).to_have_text("Invited")
            assert seen.errors == [] and seen.refused == []
        link = _link_in(sink, NEW_AGENT)
        [mail] = sink.received
        assert mail.message["From"].addresses[0].addr_spec == f"help@{world.ws.slug}.example.com"

    async with opened_context(browser) as nina_side:
        nina = await nina_side.new_page()
        seen = watch(nina)
        await nina.goto(link)
        await expect(nina.get_by_test_id("link-page")).to_contain_text("Nina Newcomer")
        assert await review(nina, world, "join") == []
        await nina.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        await nina.get_by_label("New password again").fill(NEW_PASSWORD)
        await nina.get_by_role("button", name="Join and sign in").click()
        await nina.wait_for_url(re.compile(r"/app/conversations"))
        await nina.get_by_test_id("presence").select_option("online")
        await expect(nina.get_by_test_id("presence")).to_have_attribute("data-current", "online")

        conversation = await visitor_writes(world, "Is the blue kettle back in stock?")
        row = nina.locator(f"[data-testid=conversation-row][data-conversation-id='{conversation}']")
        await expect(row).to_have_count(1)
        assert seen.errors == [] and seen.refused == []

        # Used once: the same link now says so.
        await nina.goto(link)
        await expect(nina.get_by_test_id("link-gone")).to_contain_text("used already")

    nina_id = await assignee_of(world.runtime, conversation)
    async with httpx.AsyncClient(base_url=world.base_url) as api:
        signed_in = await api.post(
            "/api/v1/auth/login",
            json={"workspace": world.ws.slug, "email": NEW_AGENT, "password": NEW_PASSWORD},
        )
        assert signed_in.status_code == 200, signed_in.text
        me = await api.get(
            "/api/v1/auth/me",
            headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"},
        )
    assert me.json()["agent_id"] == nina_id and me.json()["role"] == "agent"


async def test_a_refusing_relay_shows_its_answer_and_the_link_to_pass_on(
    browser: Browser, world: World
) -> None:
    with running_smtp_sink() as sink:
        await _workspace_mails_through(world, sink)
        sink.refuse_next(PERMANENT)
        async with opened_context(browser) as admin_side:
            admin = await admin_side.new_page()
            await sign_in(admin, world, "admin")
            await _invite(admin, "Piotr Later", "piotr@kettles.example", "Supervisor")
            unsent = admin.get_by_test_id("unsent-link")
            await expect(unsent.get_by_test_id("mail-problem")).to_contain_text(
                "550 5.1.1 No such user here"
            )
            link = await unsent.get_by_test_id("unsent-link-value").input_value()
            assert "/app/join/" in link
            await admin.get_by_test_id("console-people").click()
            row = admin.get_by_test_id("agent-row").filter(has_text="Piotr Later")
            await expect(row).to_contain_text("Mail not sent")
            assert link not in await admin.content()
        assert sink.received == []
