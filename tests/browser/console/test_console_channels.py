"""An admin connects channels in the browser alone: a Twilio number whose webhook URL, pasted
at Twilio, then receives a signed SMS that lands as a conversation (and the channel list
says so); an email channel whose "send test mail" goes through its relay and reports the
relay's answer, also when it refuses. Secrets are never shown back."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select

from tests.support.browser import World
from tests.support.console import console_section, review
from tests.support.smtp_sink import PERMANENT, running_smtp_sink
from tests.support.twilio import ACCOUNT_SID, fixture_pairs
from threadline.adapters.db import tables as t
from threadline.integrations.twilio.signature import compute_signature
from threadline.workspace import allow_email_domain

pytestmark = pytest.mark.anyio

AUTH_TOKEN = "a-new-twilio-auth-token-0123456789"
SMTP_PASSWORD = "relay-password-never-shown"


async def _connect(page: Page, kind: str, name: str, fields: dict[str, str]) -> None:
    await page.get_by_test_id(f"connect-{kind}").click()
    await page.get_by_label("Name (shown to agents)").fill(name)
    for label, value in fields.items():
        await page.get_by_label(label, exact=True).fill(value)


async def _twilio_posts_sms(webhook_url: str, text: str, token: str = AUTH_TOKEN) -> int:
    pairs = [(k, text if k == "Body" else v) for k, v in fixture_pairs("sms_inbound.form")]
    signature = compute_signature(token, webhook_url, pairs)
    async with httpx.AsyncClient() as twilio:
        answer = await twilio.post(
            webhook_url,
            content=urlencode(pairs),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )
    return answer.status_code


async def test_a_twilio_number_connected_in_the_browser_receives_a_signed_sms(
    browser: Browser, world: World
) -> None:
    async with console_section(browser, world, "channels") as page:
        assert await review(page, world, "channels") == []
        await _connect(
            page,
            "sms",
            "Shop SMS",
            {"Twilio Account SID": ACCOUNT_SID, "Sending number (E.164)": "+48221002030"},
        )
        await page.get_by_label("Signing secret or token").fill(AUTH_TOKEN)
        await page.get_by_test_id("save-channel").click()
        await expect(page.get_by_test_id("notice")).to_have_text("The channel is connected.")
        await expect(page.get_by_test_id("secret-state-secret")).to_contain_text("Set.")
        assert AUTH_TOKEN not in await page.content()
        assert await review(page, world, "channel-sms") == []
        webhook_url = await page.get_by_test_id("webhook-url").input_value()
        assert webhook_url.startswith(world.base_url) and webhook_url.endswith("/sms")

        # Signed with another token first: refused, nothing stored.
        assert await _twilio_posts_sms(webhook_url, "forged", token="not-the-token") == 403
        assert await _twilio_posts_sms(webhook_url, "Is my order A-118 on its way?") == 200

        await page.get_by_test_id("console-channels").click()
        card = page.get_by_test_id("channel").filter(has_text="Shop SMS")
        await expect(card.get_by_test_id("traffic-in")).to_contain_text("just now")
        inbox_id = int(await card.get_attribute("data-inbox-id") or 0)
    async with world.runtime.sessionmaker() as db:
        stored = (
            await db.execute(
                select(t.Message.inbox_id, t.Message.text).where(t.Message.inbox_id == inbox_id)
            )
        ).all()
    assert [row.text for row in stored] == ["Is my order A-118 on its way?"]


async def test_an_email_channel_sends_a_test_mail_through_its_relay(
    browser: Browser, world: World
) -> None:
    # The operator allowed the shop's mail domain (threadline email-domain allow).
    async with world.runtime.uow() as uow:
        await allow_email_domain(uow, world.ws.id, "kettles.example")
        await uow.commit()
    with running_smtp_sink() as sink:
        async with console_section(browser, world, "channels") as page:
            await _connect(
                page,
                "email",
                "Orders mail",
                {
                    "Email address": "orders@kettles.example",
                    "SMTP server": "127.0.0.1",
                    "SMTP port": str(sink.port),
                    "SMTP user name": "",
                },
            )
            await page.get_by_label("SMTP password").fill(SMTP_PASSWORD)
            await page.get_by_test_id("save-channel").click()
            await expect(page.get_by_test_id("notice")).to_have_text("The channel is connected.")
            assert await review(page, world, "channel-email") == []
            assert SMTP_PASSWORD not in await page.content()
            await expect(page.get_by_test_id("secret-state-smtp_password")).to_contain_text("Set.")

            await page.get_by_role("button", name="Send a test mail to me").click()
            await expect(page.get_by_test_id("check-result")).to_contain_text("it worked")
            await expect(page.get_by_test_id("check-answer")).to_contain_text(
                "Message accepted for delivery"
            )
            [mail] = sink.received
            assert mail.rcpt_tos == [f"admin@{world.ws.slug}.example.com"]
            assert mail.message["Subject"] == "Threadline test mail"

            sink.refuse_next(PERMANENT)
            await page.get_by_role("button", name="Send a test mail to me").click()
            await expect(page.get_by_test_id("check-result")).to_contain_text("it did not work")
            await expect(page.get_by_test_id("check-answer")).to_contain_text("550 5.1.1")

            # Saving again without typing the password keeps it.
            await page.get_by_label("Sender name").fill("Kettle Shop")
            await page.get_by_test_id("save-channel").click()
            await expect(page.get_by_test_id("notice")).to_have_text("The channel is saved.")
            await page.get_by_role("button", name="Send a test mail to me").click()
            await expect(page.get_by_test_id("check-result")).to_contain_text("it worked")
        assert len(sink.received) == 2
