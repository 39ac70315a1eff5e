"""The must-show scenario in a real browser: a known customer chats from the demo shop, the
agent sees the chat arrive live (the list and a pop-up) with the customer's card (their
earlier email and phone call included), answers in person (name and photo in the widget),
and resolves with a wrap-up code.

Two browser contexts, so the customer and the agent share nothing but the server.
Screenshots: test-artifacts/chat-customer.png and test-artifacts/chat-agent.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, Route, expect
from sqlalchemy import select

from tests.support.browser import (
    AGENT_NAME,
    CUSTOMER_EMAIL,
    CUSTOMER_NAME,
    CUSTOMER_PHONE,
    EMAIL_SUBJECT,
    LIVE_MS,
    World,
    browser,  # noqa: F401  (a fixture)
    opened_context,
    screenshot,
    sign_in,
    watch,
    world,  # noqa: F401  (a fixture)
)
from threadline.adapters.db import tables as t

pytestmark = pytest.mark.anyio

FIRST_CHAT = "Hi, it's Jan again. The new kettle came, but where is the courier for the old one?"
SECOND_CHAT = "He was supposed to come yesterday."
REPLY = "Sorry about that, Jan. I booked the courier for tomorrow between 9 and 12."
WRAP_UP_SUMMARY = "Courier for the cracked kettle rebooked."


async def open_shop_as_signed_in_customer(page: Page, shop: World) -> None:
    """The demo shop, as its server would render it for a signed-in customer: the loader tag
    carries the shop's user id and its HMAC (the demo shop itself has no sign-in)."""
    user_id, user_hash = shop.signed_shop_user()

    async def sign_the_loader(route: Route) -> None:
        response = await route.fetch()
        html = await response.text()
        tag = f'data-inbox="{shop.widget_key}"'
        assert tag in html, "the demo shop does not embed this workspace's widget"
        signed = html.replace(tag, f'{tag} data-user-id="{user_id}" data-user-hash="{user_hash}"')
        await route.fulfill(response=response, body=signed)

    await page.route(shop.url("/demo/shop"), sign_the_loader)
    await page.goto(shop.url("/demo/shop"))


async def test_known_customer_chats_from_the_shop_agent_answers_in_person_and_resolves(
    browser: Browser,  # noqa: F811
    world: World,  # noqa: F811
) -> None:
    async with opened_context(browser) as agent_side, opened_context(browser) as customer_side:
        # The agent is signed in and watching the conversation list.
        agent = await agent_side.new_page()
        agent_seen = watch(agent)
        await sign_in(agent, world)
        await agent.locator("body[data-live=ready]").wait_for(state="attached")
        await agent.evaluate("() => { window.__same_document = true }")
        rows = agent.locator("[data-testid=conversation-row]")
        earlier = f"[data-conversation-id='{world.earlier_conversation_id}']"
        await expect(rows).to_have_count(1)
        await expect(agent.locator(f"[data-testid=conversation-row]{earlier}")).to_have_count(1)

        # The customer opens the shop and writes in the chat widget.
        shop = await customer_side.new_page()
        shop_seen = watch(shop)
        await open_shop_as_signed_in_customer(shop, world)
        chat = shop.frame_locator("iframe#threadline-chat-frame")
        await chat.locator("[data-testid=widget-launcher]").click()
        await chat.locator("textarea[name=message]").fill(FIRST_CHAT)
        await chat.locator("[data-testid=widget-send]").click()
        await expect(
            chat.locator("[data-testid=widget-message][data-direction=inbound]")
        ).to_contain_text([FIRST_CHAT], timeout=LIVE_MS)

        # The chat arrives in the agent's list live, as a new matter of the known customer.
        new_row = agent.locator(f"[data-testid=conversation-row]:not({earlier})")
        await expect(new_row).to_have_count(1, timeout=LIVE_MS)
        await expect(new_row).to_contain_text(CUSTOMER_NAME)
        await expect(new_row).to_contain_text("Chat")
        assert await agent.evaluate("() => window.__same_document === true"), "the list reloaded"
        conversation_id = int(await new_row.get_attribute("data-conversation-id") or "0")
        assert conversation_id != world.earlier_conversation_id

        # The new contact pops up, named: its link opens the conversation with the customer
        # card (who they are, how to reach them, the earlier matter by email and phone).
        popup = agent.locator("[data-testid=new-contact-popup]")
        await expect(popup).to_have_count(1, timeout=LIVE_MS)
        await expect(popup).to_contain_text(CUSTOMER_NAME)
        await popup.locator(f"a[href$='/app/conversations/{conversation_id}']").click()
        await agent.wait_for_url(re.compile(rf"/app/conversations/{conversation_id}$"))
        card = agent.locator("[data-testid=customer-card]")
        await expect(card.locator("[data-testid=customer-name]")).to_have_text(CUSTOMER_NAME)
        await expect(card).to_contain_text(CUSTOMER_EMAIL)
        await expect(card).to_contain_text(CUSTOMER_PHONE)
        past = card.locator(f"[data-testid=past-conversation]{earlier}")
        await expect(past).to_contain_text(EMAIL_SUBJECT)
        await expect(past).to_contain_text("Email")
        await expect(past).to_contain_text("Call")
        await expect(past).to_contain_text("Resolved")
        timeline = agent.locator("[data-testid=timeline-entry]")
        chats_in = timeline.and_(agent.locator("[data-channel=web_chat][data-direction=inbound]"))
        await expect(chats_in).to_have_count(1)
        await expect(chats_in).to_contain_text(FIRST_CHAT)

        # While the agent reads, the customer writes again: it shows up without a reload.
        await agent.evaluate("() => { window.__same_document = true }")
        await chat.locator("textarea[name=message]").fill(SECOND_CHAT)
        await chat.locator("[data-testid=widget-send]").click()
        await expect(chats_in).to_have_count(2, timeout=LIVE_MS)
        await expect(chats_in.nth(1)).to_contain_text(SECOND_CHAT)
        assert await agent.evaluate("() => window.__same_document === true"), "the page reloaded"

        # The agent answers in the chat...
        reply_form = agent.locator("[data-testid=reply-form]")
        await reply_form.locator("select[name=channel]").select_option("web_chat")
        await reply_form.locator("textarea[name=text]").fill(REPLY)
        await reply_form.locator("[data-testid=send-reply]").click()
        replies = timeline.and_(agent.locator("[data-channel=web_chat][data-direction=outbound]"))
        await expect(replies).to_have_count(1, timeout=LIVE_MS)
        await expect(replies).to_contain_text(REPLY)

        # ...and the customer sees it in the widget, from a person: name and photo.
        answer = chat.locator("[data-testid=widget-message][data-direction=outbound]")
        await expect(answer).to_have_count(1, timeout=LIVE_MS)
        await expect(answer).to_contain_text(REPLY)
        await expect(answer.locator(".author-name")).to_have_text(AGENT_NAME)
        photo = answer.locator("img.author-photo")
        await expect(photo).to_be_visible()
        assert (await photo.get_attribute("src") or "").startswith("data:image/svg+xml")
        assert await photo.evaluate("img => img.complete && img.naturalWidth > 0"), "no photo"
        # Answered: the line under the chat names the agent instead of a queue place.
        await expect(chat.locator("[data-testid=queue-position]")).to_contain_text(
            AGENT_NAME, timeout=LIVE_MS
        )
        await screenshot(shop, "chat-customer.png")

        # The agent resolves with a wrap-up code; the page shows it resolved.
        wrap_up = agent.locator("[data-testid=wrap-up-form]")
        await wrap_up.locator("select[name=code]").select_option("solved")
        await wrap_up.locator("textarea[name=summary]").fill(WRAP_UP_SUMMARY)
        await wrap_up.locator("[data-testid=resolve]").click()
        conversation = agent.locator("[data-testid=conversation]")
        await expect(conversation).to_have_attribute("data-conversation-status", "resolved")
        await expect(agent.locator("[data-testid=conversation-status]")).to_have_text("Resolved")
        await screenshot(agent, "chat-agent.png")

        # It is resolved for everyone, with its code: a fresh load says so too.
        await agent.reload()
        await expect(conversation).to_have_attribute("data-conversation-status", "resolved")
        async with world.runtime.sessionmaker() as session:
            stored = (
                await session.execute(
                    select(t.Conversation).where(t.Conversation.id == conversation_id)
                )
            ).scalar_one()
        assert stored.status == "resolved"
        assert (stored.wrap_up_code, stored.wrap_up_summary) == ("solved", WRAP_UP_SUMMARY)
        assert stored.customer_id == world.customer_id
        assert agent_seen.errors == [] and shop_seen.errors == []
        assert agent_seen.dialogs == [] and shop_seen.dialogs == []
        assert agent_seen.refused == [] and shop_seen.refused == []
