"""Browser tests: Debian's Chromium driven by Playwright against a real server.

One Chromium is launched per test module (`browser`); each test gets fresh browser contexts
(separate cookie jars: the customer and the agent never share a session). The server is a
real uvicorn in the test's own event loop (tests/support/server.py), so Playwright's async API
and the server share that loop. Screenshots go to `test-artifacts/` at the repository root.

The seeded world runs on the system clock: the browser judges cookie lifetimes by real time,
so a held-still test clock would make every session cookie arrive already expired.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Frame,
    Page,
    async_playwright,
)
from playwright.async_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import update

from tests.conftest import IN_CI, PASSWORD, WorkspaceFixture, make_workspace
from tests.support.server import running_server
from tests.support.smtp_sink import free_port as free_port  # the one helper, re-exported
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime, build_runtime
from threadline.config import Settings
from threadline.content.wrap_up_codes import WrapUp
from threadline.conversations.calls import CallDirection, CallEvent, record_call_event
from threadline.conversations.receive import receive_message
from threadline.conversations.wrap_up import wrap_up_conversation
from threadline.customers.profile import add_identity
from threadline.domain.agent_profile import Presence
from threadline.domain.channels import IdentityKind
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.domain.messaging.web_chat import user_hash
from threadline.domain.security.access import Principal, Role
from threadline.seed.catalogue import avatar_data_url
from threadline.web_chat.widget_inboxes import widget_admin_view
from threadline.workspace.agents import set_own_presence

CHROMIUM = os.environ.get("THREADLINE_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# How long a live update may take to show in a page (the real-time path is milliseconds).
LIVE_MS = 5_000
# Page loads and clicks: generous, so a loaded CI machine does not make them flaky.
ACTION_MS = 10_000
# The slug the demo shop page looks for, so /demo/shop embeds this workspace's web chat.
SLUG = "demo"

CUSTOMER_NAME = "Jan Kowalski"
CUSTOMER_EMAIL = "jan.kowalski@example.com"
CUSTOMER_PHONE = "+48601234567"
OUR_LINE = "+48223074000"
EMAIL_SUBJECT = "Order 1042: the kettle arrived cracked"
EMAIL_TEXT = "Hello, the kettle from order 1042 arrived with a cracked lid. Photos attached."
CALL_ID = "CA5e1f0c3b2a9d8e7f6a5b4c3d2e1f0a9b"
# The shop's own id for this customer, which the shop signs for the widget (data-user-id).
SHOP_USER_ID = "shop-customer-1042"
EARLIER = timedelta(days=10)
AGENT_NAME = "Olek Agent"


def chromium_or_skip() -> str:
    """Debian's Chromium; a laptop without it skips, CI (CI=true) without it fails."""
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"the browser tests need Chromium at {CHROMIUM} in CI")
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the whole module: launching takes a second or two."""
    executable = chromium_or_skip()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class World:
    """A served workspace with a known customer: ten days ago they emailed, then phoned, and
    that matter was resolved. Agents have photos; Olek (the agent) is online; the web-chat
    inbox has its widget key, so /demo/shop embeds the chat."""

    base_url: str
    runtime: Runtime
    ws: WorkspaceFixture
    customer_id: int
    earlier_conversation_id: int
    widget_key: str
    widget_secret: str

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def signed_shop_user(self) -> tuple[str, str]:
        """What the shop's server renders for its signed-in customer: id and HMAC."""
        return SHOP_USER_ID, user_hash(self.widget_secret, SHOP_USER_ID)


def agent_principal(ws: WorkspaceFixture, agent_id: int | None = None) -> Principal:
    return Principal(workspace_id=ws.id, role=Role.AGENT, agent_id=agent_id or ws.agent_id)


def admin_principal(ws: WorkspaceFixture) -> Principal:
    return Principal(workspace_id=ws.id, role=Role.ADMIN, agent_id=ws.admin_id)


async def seed_earlier_matter(runtime: Runtime, ws: WorkspaceFixture) -> tuple[int, int]:
    """The customer's email (giving their phone number too) and their answered phone call,
    through the same use-cases the email and Twilio voice adapters call; the shop's account
    id on the customer (as the shop's integration records it); the matter resolved.
    Returns the customer and the conversation."""
    email = await receive_message(
        runtime.uow,
        ws.id,
        InboundMessage(
            inbox_id=ws.inboxes["email"],
            sender=SenderIdentity(IdentityKind.EMAIL, CUSTOMER_EMAIL),
            other_identities=(SenderIdentity(IdentityKind.PHONE, CUSTOMER_PHONE),),
            sender_name=CUSTOMER_NAME,
            subject=EMAIL_SUBJECT,
            text=EMAIL_TEXT,
            html=f"<p>{EMAIL_TEXT}</p>",
            provider_message_id="<kettle-1042@mail.example.com>",
        ),
    )
    call = await record_call_event(
        runtime.uow,
        ws.id,
        CallEvent(
            inbox_id=ws.inboxes["voice"],
            call_id=CALL_ID,
            direction=CallDirection.INBOUND,
            from_number=CUSTOMER_PHONE,
            to_number=OUR_LINE,
            status="completed",
            duration_seconds=185,
            answered_by_agent=True,
        ),
    )
    assert call.customer_id == email.customer_id, "the call must find the emailing customer"
    assert call.conversation_id == email.conversation_id
    async with runtime.uow() as uow:
        await add_identity(
            uow, admin_principal(ws), email.customer_id, IdentityKind.EXTERNAL, SHOP_USER_ID
        )
        await uow.commit()
    async with runtime.uow() as uow:
        await wrap_up_conversation(
            uow,
            agent_principal(ws),
            email.conversation_id,
            WrapUp(code="solved", summary="New kettle sent; the courier takes the cracked one."),
        )
        await uow.commit()
    return email.customer_id, email.conversation_id


async def give_agents_photos(runtime: Runtime, ws: WorkspaceFixture) -> None:
    async with runtime.sessionmaker() as session:
        for index, agent_id in enumerate((ws.admin_id, ws.agent_id, ws.supervisor_id)):
            agent = await session.get(t.Agent, agent_id)
            assert agent is not None
            await session.execute(
                update(t.Agent)
                .where(t.Agent.id == agent_id)
                .values(photo_url=avatar_data_url(agent.name, index))
            )
        await session.commit()


async def open_widget(runtime: Runtime, ws: WorkspaceFixture) -> tuple[str, str]:
    """The web-chat inbox's public key (made on first use, as the admin page does) and the
    inbox secret the shop signs its user ids with."""
    async with runtime.uow() as uow:
        view = await widget_admin_view(uow, admin_principal(ws), ws.inboxes["web_chat"])
        inbox = await uow.session.get(t.Inbox, ws.inboxes["web_chat"])
        assert inbox is not None and inbox.secret
        secret = inbox.secret
        await uow.commit()
    return str(view["public_key"]), secret


@asynccontextmanager
async def seeded_world(settings: Settings) -> AsyncIterator[World]:
    """The world's data and its live runtime, not served yet (`base_url` is empty)."""
    # The earlier matter happened ten days ago, on a clock held there.
    past = build_runtime(settings, clock=ManualClock(datetime.now(UTC) - EARLIER))
    try:
        ws = await make_workspace(past, SLUG)
        await give_agents_photos(past, ws)
        customer_id, earlier_id = await seed_earlier_matter(past, ws)
    finally:
        await past.close()
    live = build_runtime(settings)
    try:
        widget_key, widget_secret = await open_widget(live, ws)
        async with live.uow() as uow:
            await set_own_presence(uow, agent_principal(ws), Presence.ONLINE)
            await uow.commit()
        yield World(
            base_url="",
            runtime=live,
            ws=ws,
            customer_id=customer_id,
            earlier_conversation_id=earlier_id,
            widget_key=widget_key,
            widget_secret=widget_secret,
        )
    finally:
        await live.close()


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    """The seeded world, served by a real uvicorn for the whole test."""
    async with seeded_world(settings) as seeded, running_server(seeded.runtime) as address:
        seeded.base_url = f"http://{address}"
        yield seeded


@dataclass
class Watched:
    """What a page did that a user would notice as breakage: dialogs, uncaught errors, and
    anything the Content-Security-Policy refused (markup that should never have been there,
    or a page that breaks its own policy)."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def watch(page: Page) -> Watched:
    """Record (and dismiss) every dialog, every uncaught JavaScript error and every CSP
    refusal of `page`, in all its frames."""
    seen = Watched()

    async def on_dialog(dialog: Dialog) -> None:
        seen.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            seen.refused.append(message.text)

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on("console", on_console)
    return seen


@asynccontextmanager
async def opened_context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (its own cookies and storage), closed afterwards."""
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(ACTION_MS)
    try:
        yield context
    finally:
        await context.close()


async def sign_in(page: Page, world: World, who: str = "agent") -> None:
    """Sign in at /app/login as `who` (agent, admin, super) and land on the conversations
    (an admin lands on the console's get-started checklist)."""
    await page.goto(world.url("/app/login"))
    workspace_field = page.locator("input[name=workspace]")
    if await workspace_field.count():
        await workspace_field.fill(world.ws.slug)
    await page.fill("input[name=email]", f"{who}@{world.ws.slug}.example.com")
    await page.fill("input[name=password]", PASSWORD)
    # Press the login form's own button: the page has other forms (the language switcher).
    await page.click("form:has(input[name=password]) button[type=submit]")
    try:
        landing = r"/app/admin" if who == "admin" else r"/app/conversations/?(\?.*)?"
        await page.wait_for_url(re.compile(landing + "$"))
    except PlaywrightTimeout:
        body = await page.locator("body").inner_text()
        raise AssertionError(f"signing in failed at {page.url}: {body[:500]}") from None


async def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    await page.screenshot(path=str(path), full_page=True)
    return path


async def canaries(page: Page) -> dict[str, str]:
    """`window.__xss` in every frame of `page` where an injected script set it."""
    fired: dict[str, str] = {}
    for frame in page.frames:
        value = await _canary(frame)
        if value is not None:
            fired[frame.url] = value
    return fired


async def _canary(frame: Frame) -> str | None:
    value = await frame.evaluate("() => (window.__xss === undefined ? null : String(window.__xss))")
    return value if isinstance(value, str) else None


async def visitor_writes(world: World, text: str) -> int:
    """A visitor on the shop opens the chat widget and writes (through the widget API, from
    outside any page); the conversation's id."""
    async with httpx.AsyncClient(base_url=world.base_url) as visitor:
        session = await visitor.post("/api/v1/widget/session", json={"inbox": world.widget_key})
        assert session.status_code in (200, 201), session.text
        sent = await visitor.post(
            "/api/v1/widget/messages",
            json={"text": text},
            headers={"X-Visitor-Token": session.json()["token"]},
        )
        assert sent.status_code in (200, 201), sent.text
        return int(sent.json()["conversation_id"])
