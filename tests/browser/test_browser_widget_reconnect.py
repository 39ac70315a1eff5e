"""The widget in a real browser survives a server restart: while the server is down the
visitor is told the chat is reconnecting; the agent's replies sent meanwhile appear once
each, in order, as soon as a server is back on the same address; later replies arrive live.
(The socket-level version of this is tests/entrypoints/widget/test_widget_socket.py; this one runs frame.js.)
frame.js shows a message id only once, so "once each" is checked on the frames the sockets
delivered, not only on the page."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.async_api import Browser, WebSocket, expect
from sqlalchemy import select

from tests.support.browser import (
    LIVE_MS,
    Watched,
    agent_principal,
    browser,  # noqa: F401  (a fixture)
    free_port,
    opened_context,
    seeded_world,
    watch,
)
from tests.support.server import running_server
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.config import Settings
from threadline.conversations.replies import ReplyRequest, reply
from threadline.domain.channels import Channel
from threadline.domain.security.access import Principal

# The back-fill after a reconnect is checked on both databases at the socket level
# (tests/entrypoints/widget/test_widget_socket.py); here it is frame.js that is under test, so one backend keeps
# the browser budget.
pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

QUESTION = "Is the blender B-900 in stock?"
WHILE_DOWN = ("Let me check the warehouse.", "Yes: 14 in stock, sent today if ordered by 3 pm.")
AFTERWARDS = "Anything else I can help with?"
# frame.js retries after 0.5, 1, 2, 4 s...; the server is down for about a second.
BACK_MS = 8_000


async def agent_replies(
    runtime: Runtime, principal: Principal, conversation_id: int, text: str
) -> None:
    async with runtime.uow() as uow:
        await reply(uow, principal, ReplyRequest(conversation_id, text, Channel.WEB_CHAT))
        await uow.commit()


async def test_replies_sent_while_the_server_was_down_appear_once_in_order_after_it_is_back(
    browser: Browser,  # noqa: F811
    settings: Settings,
) -> None:
    port = free_port()
    async with seeded_world(settings) as world, opened_context(browser) as customer_side:
        world.base_url = f"http://127.0.0.1:{port}"
        shop = await customer_side.new_page()
        seen: Watched = watch(shop)
        # Every message frame any widget socket of the page received, in arrival order.
        delivered: list[dict[str, Any]] = []

        def record(socket: WebSocket) -> None:
            def on_frame(payload: str | bytes) -> None:
                frame = json.loads(payload)
                if frame.get("type") == "message":
                    delivered.append(frame)

            if "/api/v1/widget/ws" in socket.url:
                socket.on("framereceived", on_frame)

        shop.on("websocket", record)
        chat = shop.frame_locator("iframe#threadline-chat-frame")
        messages = chat.locator("[data-testid=widget-message]")
        answers = chat.locator("[data-testid=widget-message][data-direction=outbound]")
        notice = chat.locator("[data-testid=widget-notice]")

        async with running_server(world.runtime, port):
            await shop.goto(world.url("/demo/shop"))
            await chat.locator("[data-testid=widget-launcher]").click()
            await chat.locator("textarea[name=message]").fill(QUESTION)
            await chat.locator("[data-testid=widget-send]").click()
            await expect(messages).to_have_count(1, timeout=LIVE_MS)
            await expect(notice).to_be_hidden()
            async with world.runtime.sessionmaker() as session:
                conversation_id = (
                    await session.execute(
                        select(t.Message.conversation_id).where(t.Message.text == QUESTION)
                    )
                ).scalar_one()

        # The server is gone: the visitor is told, and the agent answers meanwhile.
        await expect(notice).to_have_text("Reconnecting…", timeout=LIVE_MS)
        principal = agent_principal(world.ws)
        for text in WHILE_DOWN:
            await agent_replies(world.runtime, principal, conversation_id, text)

        async with running_server(world.runtime, port):
            await expect(answers).to_have_count(2, timeout=BACK_MS)
            await expect(notice).to_be_hidden()
            await expect(answers.locator(".text")).to_have_text(list(WHILE_DOWN))
            await agent_replies(world.runtime, principal, conversation_id, AFTERWARDS)
            await expect(answers).to_have_count(3, timeout=LIVE_MS)
            await expect(answers.locator(".text")).to_have_text([*WHILE_DOWN, AFTERWARDS])
            await expect(messages).to_have_count(4)
            sequence = [int(await m.get_attribute("data-seq") or 0) for m in await messages.all()]
            assert sequence == sorted(set(sequence)), f"repeated or out of order: {sequence}"
        # What the sockets delivered, before frame.js's own de-duplication: each message once,
        # in order, across the restart.
        assert [(f["direction"], f["text"]) for f in delivered] == [
            ("inbound", QUESTION),
            *(("outbound", text) for text in (*WHILE_DOWN, AFTERWARDS)),
        ]
        seqs = [f["seq"] for f in delivered]
        assert seqs == sorted(set(seqs)) == sequence, f"repeated or out of order: {seqs}"
        assert seen.errors == [] and seen.dialogs == [] and seen.refused == []
