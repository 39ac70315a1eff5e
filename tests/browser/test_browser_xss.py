"""Script injection stays inert in a real browser: customer names, email subjects, text and
HTML, customer attributes and notes, chat messages, and agent names carry payloads; every
page that shows them is loaded (the agents' list, the live new-contact pop-up, both
conversation pages, the chat widget, tasks, the supervisor's queue) and must raise no dialog, leave the `window.__xss`
canary unset in every frame, and show each payload to the reader as plain text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, Locator, Page, expect
from sqlalchemy import update

from tests.support.browser import (
    LIVE_MS,
    Watched,
    World,
    agent_principal,
    browser,  # noqa: F401  (a fixture)
    canaries,
    opened_context,
    screenshot,
    sign_in,
    watch,
    world,  # noqa: F401  (a fixture)
)
from threadline.adapters.db import tables as t
from threadline.conversations.receive import receive_message
from threadline.customers.notes import add_note
from threadline.customers.profile import update_customer
from threadline.domain.channels import IdentityKind
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.follow_ups.tasks import NewTask, create_task

# What reaches the page is escaped by the templates and the widget's script, whatever database
# stored it, so one backend keeps the browser budget; storage round-trips of such text are
# covered on both by the API tests.
pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=1</script>"
SVG = '"><svg onload=window.__xss=1>'
EVIL_NAME = f"Eve {IMG}"
EVIL_SUBJECT = f"Refund {SVG}"
EVIL_TEXT = f"My order {SCRIPT} and {IMG} please"
EVIL_HTML = (
    f"<p>Formatted part</p>{IMG}{SCRIPT}<div>{SVG}</div>"
    '<a href="javascript:window.__xss=1" id="js-link">click me</a>'
    '<iframe src="javascript:window.top.__xss=1"></iframe>'
)
EVIL_ATTRIBUTE = (f"plan {SVG}", f"gold {IMG}")
EVIL_NOTE = f"Called back, said {SCRIPT}"
EVIL_CHAT = f"Chat {IMG} {SCRIPT} {SVG}"
EVIL_REPLY = f"Reply {SVG} {SCRIPT}"
EVIL_AGENT = f"Olek {IMG}"
EVIL_TASK = f"Send the label {SVG}"


async def assert_inert(page: Page, seen: Watched, where: str) -> None:
    """Nothing injected ran or tried to run on `page`: no dialog, no canary in any frame,
    no script error, no CSP refusal."""
    assert seen.dialogs == [], f"{where}: a dialog opened: {seen.dialogs}"
    assert await canaries(page) == {}, f"{where}: an injected script ran"
    assert seen.errors == [], f"{where}: script errors: {seen.errors}"
    # The pages' CSP would stop an inline handler even if markup got through; a refusal
    # means it did get through, so it counts as a failure too.
    assert seen.refused == [], f"{where}: the CSP refused: {seen.refused}"


async def shows_as_text(locator: Locator, *texts: str) -> None:
    for text in texts:
        await expect(locator).to_contain_text(text)


async def test_payloads_render_as_text_in_the_agent_pages_and_the_widget(
    browser: Browser,  # noqa: F811
    world: World,  # noqa: F811
) -> None:
    async with world.runtime.sessionmaker() as session:
        await session.execute(
            update(t.Agent).where(t.Agent.id == world.ws.agent_id).values(name=EVIL_AGENT)
        )
        await session.commit()

    async with opened_context(browser) as agent_side, opened_context(browser) as customer_side:
        agent = await agent_side.new_page()
        agent_seen = watch(agent)
        await sign_in(agent, world)
        await agent.locator("body[data-live=ready]").wait_for(state="attached")
        await assert_inert(agent, agent_seen, "conversation list")

        # A new customer emails while the agent watches the list (through the use-case the
        # email adapters call, HTML part included): the pop-up names them.
        received = await receive_message(
            world.runtime.uow,
            world.ws.id,
            InboundMessage(
                inbox_id=world.ws.inboxes["email"],
                sender=SenderIdentity(IdentityKind.EMAIL, "eve@example.com"),
                sender_name=EVIL_NAME,
                subject=EVIL_SUBJECT,
                text=EVIL_TEXT,
                html=EVIL_HTML,
            ),
        )
        email_conversation = received.conversation_id
        customer_id = received.customer_id
        popup = agent.locator("[data-testid=new-contact-popup]")
        await expect(popup).to_have_count(1, timeout=LIVE_MS)
        await shows_as_text(popup, EVIL_NAME)
        row = agent.locator(
            f"[data-testid=conversation-row][data-conversation-id='{email_conversation}']"
        )
        await expect(row).to_have_count(1, timeout=LIVE_MS)
        await shows_as_text(row, EVIL_NAME, EVIL_SUBJECT)
        await assert_inert(agent, agent_seen, "conversation list, live")

        # Give the customer an attribute and a note with payloads, as agents would.
        async with world.runtime.uow() as uow:
            principal = agent_principal(world.ws)
            key, value = EVIL_ATTRIBUTE
            await update_customer(uow, principal, customer_id, {"attributes": {key: value}})
            await add_note(uow, principal, customer_id, EVIL_NOTE)
            await uow.commit()

        # The conversation page of that email: title, card, timeline, formatted email.
        await agent.goto(world.url(f"/app/conversations/{email_conversation}"))
        card = agent.locator("[data-testid=customer-card]")
        await shows_as_text(card.locator("[data-testid=customer-name]"), EVIL_NAME)
        await shows_as_text(card, *EVIL_ATTRIBUTE, EVIL_NOTE)
        entry = agent.locator("[data-testid=timeline-entry][data-channel=email]")
        await shows_as_text(entry, EVIL_TEXT)
        await shows_as_text(agent.locator("main"), EVIL_SUBJECT)
        for summary in await entry.locator("details > summary").all():
            await summary.click()  # open the formatted email and any quoted text
        await assert_inert(agent, agent_seen, "email conversation")
        links = entry.locator("a")
        for index in range(await links.count()):
            href = await links.nth(index).get_attribute("href") or ""
            assert not href.strip().lower().startswith("javascript:"), href
        assert await entry.locator("iframe, script, svg, img[onerror]").count() == 0
        await screenshot(agent, "xss-agent-email.png")

        # A visitor chats payloads from the shop's widget.
        shop = await customer_side.new_page()
        shop_seen = watch(shop)
        await shop.goto(world.url("/demo/shop"))
        chat = shop.frame_locator("iframe#threadline-chat-frame")
        await chat.locator("[data-testid=widget-launcher]").click()
        await chat.locator("textarea[name=message]").fill(EVIL_CHAT)
        await chat.locator("[data-testid=widget-send]").click()
        mine = chat.locator("[data-testid=widget-message][data-direction=inbound]")
        await expect(mine).to_have_count(1, timeout=LIVE_MS)
        await shows_as_text(mine, EVIL_CHAT)
        await assert_inert(shop, shop_seen, "widget")

        # The agent opens the chat from the list and answers with payloads of their own.
        await agent.goto(world.url("/app/conversations"))
        chat_row = agent.locator(
            "[data-testid=conversation-row]"
            f":not([data-conversation-id='{email_conversation}'])"
            f":not([data-conversation-id='{world.earlier_conversation_id}'])"
        )
        await expect(chat_row).to_have_count(1, timeout=LIVE_MS)
        await chat_row.locator("a").first.click()
        chat_entry = agent.locator("[data-testid=timeline-entry][data-channel=web_chat]")
        await shows_as_text(chat_entry, EVIL_CHAT)
        reply_form = agent.locator("[data-testid=reply-form]")
        await reply_form.locator("select[name=channel]").select_option("web_chat")
        await reply_form.locator("textarea[name=text]").fill(EVIL_REPLY)
        await reply_form.locator("[data-testid=send-reply]").click()
        outbound = agent.locator("[data-testid=timeline-entry][data-direction=outbound]")
        await expect(outbound).to_have_count(1, timeout=LIVE_MS)
        await shows_as_text(outbound, EVIL_REPLY, EVIL_AGENT)
        await assert_inert(agent, agent_seen, "chat conversation")

        # The widget shows the reply, and the agent's name, as text.
        answer = chat.locator("[data-testid=widget-message][data-direction=outbound]")
        await expect(answer).to_have_count(1, timeout=LIVE_MS)
        await shows_as_text(answer, EVIL_REPLY)
        await shows_as_text(answer.locator(".author-name"), EVIL_AGENT)
        await assert_inert(shop, shop_seen, "widget with the reply")
        await screenshot(shop, "xss-widget.png")

        # A fresh load of the widget (history back-filled) and of the list stays inert too.
        await shop.reload()
        await expect(
            chat.locator("[data-testid=widget-message][data-direction=outbound]")
        ).to_have_count(1, timeout=LIVE_MS)
        await assert_inert(shop, shop_seen, "widget after reload")
        await agent.goto(world.url("/app/conversations"))
        await shows_as_text(agent.locator("[data-testid=conversation-list]"), EVIL_NAME)
        await assert_inert(agent, agent_seen, "conversation list after reload")

        # A follow-up task whose title and note carry payloads, on the tasks page.
        async with world.runtime.uow() as uow:
            await create_task(
                uow,
                agent_principal(world.ws),
                NewTask(
                    title=EVIL_TASK,
                    note=EVIL_NOTE,
                    due_at=datetime.now(UTC) + timedelta(hours=2),
                    conversation_id=email_conversation,
                    assignee_id=world.ws.agent_id,
                ),
            )
            await uow.commit()
        await agent.goto(world.url("/app/tasks"))
        await shows_as_text(agent.locator("[data-testid=tasks]"), EVIL_TASK, EVIL_NOTE)
        await assert_inert(agent, agent_seen, "tasks")

    # The supervisor's queue: waiting subjects and the agents' names.
    async with opened_context(browser) as supervisor_side:
        supervisor = await supervisor_side.new_page()
        supervisor_seen = watch(supervisor)
        await sign_in(supervisor, world, "super")
        await supervisor.goto(world.url("/app/queue"))
        await shows_as_text(supervisor.locator("[data-testid=agent-load]"), EVIL_AGENT)
        await assert_inert(supervisor, supervisor_seen, "queue")
