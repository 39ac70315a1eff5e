"""The agent workspace pages over HTTP: sign-in and the cookie session, CSRF, tenancy, the
timeline with its channel marks, filters, inert user content and Polish."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import update

from tests.conftest import PASSWORD, WorkspaceFixture, customer_writes, login
from tests.support.conversations_api import assign_to, resolve_as_answered
from tests.support.web_sign_in import CSRF_INPUT, sign_in_with_the_form
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.entrypoints.sign_in_throttle import PAIR_FAILURES, WINDOW_SECONDS

pytestmark = pytest.mark.anyio

BASE = "http://threadline.test"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


async def sign_in(client: httpx.AsyncClient, email: str, workspace: str = "") -> str:
    """Signs in through the login form; returns the page's CSRF token for API calls."""
    await sign_in_with_the_form(client, email, workspace)
    page = await client.get("/app/conversations")
    assert page.status_code == 200
    meta = CSRF_META.search(page.text)
    assert meta is not None and meta.group(1)
    return meta.group(1)


# Our own script and the design system's, served from this site.
OUR_SCRIPTS = ("/app/static/app.js", "/app/vendor/")


class _ActiveContent(HTMLParser):
    """Collects what a browser would run: handlers, scripts other than ours, script URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}>")
            if name in ("href", "src", "action", "formaction") and (
                value or ""
            ).strip().lower().startswith(("javascript:", "data:text")):
                self.found.append(f"<{tag} {name}={value}>")
        if tag == "script" and not str(dict(attrs).get("src")).startswith(OUR_SCRIPTS):
            if dict(attrs).get("type") != "application/json":
                self.found.append("<script>")
        if tag in ("iframe", "object", "embed", "svg", "base"):
            self.found.append(f"<{tag}>")


def active_content(page: str) -> list[str]:
    parser = _ActiveContent()
    parser.feed(page)
    return parser.found


def entries(page: str) -> list[tuple[str, str]]:
    """(data-channel, data-direction) of each timeline entry, in page order."""
    return re.findall(
        r'data-testid="timeline-entry" data-channel="([^"]+)" data-direction="([^"]+)"', page
    )


async def test_pages_need_a_session_and_sign_in_sets_a_strict_http_only_cookie(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    assert (await client.get("/")).headers["location"] == "/app"
    for path in ("/app/conversations", "/app/conversations/1", "/app/tasks", "/app/queue"):
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/app/login"

    form = await client.get("/app/login")
    login_token = CSRF_INPUT.search(form.text)
    assert login_token is not None
    for field in ('name="email"', 'name="password"', 'type="submit"'):
        assert field in form.text
    # The first submit button on the page is the one that signs in.
    assert form.text.index('name="password"') < form.text.index('type="submit"')
    assert form.text.index('type="submit"') < form.text.index('action="/app/language"')
    fields = {"email": f"agent@{workspace.slug}.example.com", "password": PASSWORD}

    # A post without the form's token (another site's form, say) signs nobody in.
    forged = await client.post("/app/login", data={**fields, "csrf_token": "x"})
    assert forged.status_code == 403
    assert "tl_session" not in forged.headers.get("set-cookie", "")

    wrong = await client.post(
        "/app/login",
        data={**fields, "password": "wrong", "csrf_token": login_token.group(1)},
    )
    assert wrong.status_code == 401
    assert 'data-testid="login-error"' in wrong.text
    assert "tl_session" not in wrong.headers.get("set-cookie", "")

    # Guessing is slowed down: past the limit of failures the form says so, even for the
    # right password.
    for _ in range(PAIR_FAILURES - 1):
        await client.post(
            "/app/login",
            data={**fields, "password": "guess", "csrf_token": login_token.group(1)},
        )
    throttled = await client.post("/app/login", data={**fields, "csrf_token": login_token.group(1)})
    assert throttled.status_code == 429
    assert "Too many failed sign-ins" in throttled.text
    clock.advance(timedelta(seconds=WINDOW_SECONDS))

    # No workspace typed: the one workspace where this email is an agent.
    ok = await client.post("/app/login", data={**fields, "csrf_token": login_token.group(1)})
    assert ok.status_code == 303
    cookie = next(c for c in ok.headers.get_list("set-cookie") if c.startswith("tl_session="))
    assert "httponly" in cookie.lower()
    assert "samesite=strict" in cookie.lower()
    page = await client.get("/app/conversations")
    assert page.status_code == 200
    assert "Olek Agent" in page.text
    csrf = CSRF_META.search(page.text)
    assert csrf is not None

    # Signing out needs the page's token too; then the cookie is gone.
    assert (await client.post("/app/logout", data={"csrf_token": "nope"})).status_code == 403
    assert (await client.get("/app/conversations")).status_code == 200
    signed_out_token = client.cookies["tl_session"]
    out = await client.post("/app/logout", data={"csrf_token": csrf.group(1)})
    assert out.status_code == 303
    assert (await client.get("/app/conversations")).status_code == 303
    # The token itself is refused too: a copy of the cookie no longer opens a page or the API.
    client.cookies.set("tl_session", signed_out_token)
    assert (await client.get("/app/conversations")).status_code == 303
    refused = await client.get("/api/v1/auth/me", headers={"X-CSRF-Token": csrf.group(1)})
    assert refused.status_code == 401
    assert refused.json()["detail"] == "this token was signed out; sign in again"


async def test_the_api_takes_the_session_cookie_only_with_its_csrf_header(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    received = await customer_writes(
        client, workspace, "email", "email", "ann@example.com", "Where is my parcel?"
    )
    notes = f"/api/v1/conversations/{received['conversation_id']}/notes"
    csrf = await sign_in(browser, f"agent@{workspace.slug}.example.com")

    missing = await browser.post(notes, json={"text": "forged"})
    assert missing.status_code == 401
    assert "X-CSRF-Token" in missing.json()["detail"]
    wrong = await browser.post(notes, json={"text": "forged"}, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 401
    # A token of another session does not fit this one.
    other = httpx.AsyncClient(transport=browser._transport, base_url=BASE)
    async with other:
        other_csrf = await sign_in(other, f"super@{workspace.slug}.example.com")
    assert other_csrf != csrf
    crossed = await browser.post(notes, json={"text": "x"}, headers={"X-CSRF-Token": other_csrf})
    assert crossed.status_code == 401

    made = await browser.post(notes, json={"text": "from the page"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    assert made.json()["author_agent_id"] == workspace.agent_id

    # Bearer tokens and API keys work as before, without any cookie.
    bearer = await login(client, workspace.slug, "agent")
    assert (await client.post(notes, json={"text": "bearer"}, headers=bearer)).status_code == 201
    keyed = await client.get(notes.removesuffix("/notes"), headers={"X-API-Key": workspace.api_key})
    assert keyed.status_code == 200
    timeline = await client.get(notes.removesuffix("/notes") + "/messages", headers=bearer)
    assert [m["text"] for m in timeline.json()["items"] if m["direction"] == "note"] == [
        "from the page",
        "bearer",
    ]


async def test_the_conversation_page_shows_one_timeline_across_channels_in_english_and_polish(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    phone = "+48600111222"
    first = await customer_writes(client, workspace, "sms", "phone", phone, "Text from my phone")
    conversation_id = first["conversation_id"]
    await customer_writes(
        client,
        workspace,
        "voice",
        "phone",
        phone,
        "",
        call={"outcome": "answered", "duration_seconds": 125},
    )
    await customer_writes(client, workspace, "whatsapp", "phone", phone, "And on WhatsApp")
    csrf = await sign_in(browser, f"agent@{workspace.slug}.example.com")
    headers = {"X-CSRF-Token": csrf}
    api = f"/api/v1/conversations/{conversation_id}"
    assert (await browser.post(f"{api}/notes", json={"text": "VIP"}, headers=headers)).is_success
    reply = await browser.post(f"{api}/replies", json={"text": "On it!"}, headers=headers)
    assert reply.status_code == 201, reply.text

    # What other agents promised and what the shop recorded shows on the card at once.
    admin = await login(client, workspace.slug, "admin")
    customer = f"/api/v1/customers/{first['customer_id']}"
    offer = {"product": "Kettle 2000", "price": "49.90", "currency": "PLN", "channel": "sms"}
    assert (await client.post(f"{customer}/offers", json=offer, headers=admin)).is_success
    order = {
        "number": "SHOP-1042",
        "status": "shipped",
        "placed_at": "2026-10-30T10:00:00+00:00",
        "items": [{"sku": "KET-2000", "quantity": 2}],
    }
    made = await client.post(f"{customer}/orders", json=order, headers=admin)
    assert made.status_code == 201, made.text
    note = {"text": "Prefers calls after 5 pm"}
    assert (await client.post(f"{customer}/notes", json=note, headers=admin)).is_success

    page = await browser.get(f"/app/conversations/{conversation_id}")
    assert page.status_code == 200
    card = page.text[page.text.index('data-testid="customer-card"') :]
    for shown in ("Kettle 2000", "49.90 PLN", "SHOP-1042", "shipped", "2 \u00d7 KET-2000"):
        assert shown in card, shown
    assert "Prefers calls after 5 pm" in card
    assert entries(page.text) == [
        ("sms", "inbound"),
        ("voice", "inbound"),
        ("whatsapp", "inbound"),
        ("whatsapp", "note"),
        ("whatsapp", "outbound"),
    ]
    assert 'data-testid="call-details"' in page.text and ">2:05<" in page.text
    assert 'data-conversation-status="open"' in page.text
    # The reply box defaults to the latest inbound channel and knows its rules.
    assert re.search(r'<option value="whatsapp"[^>]*selected', page.text)
    assert 'data-default-channel="whatsapp"' in page.text
    for testid in (
        "customer-card",
        "customer-name",
        "past-conversation",
        "reply-form",
        "send-reply",
        "note-form",
        "wrap-up-form",
        "resolve",
        "presence",
    ):
        assert f'data-testid="{testid}"' in page.text, testid
    for control in ('textarea id="reply-text" name="text"', 'name="channel"', 'name="code"'):
        assert control in page.text
    assert phone in page.text  # the identity on the customer card

    # The same page in Polish, once the agent chooses it.
    english = await browser.get(f"/app/conversations/{conversation_id}")
    assert '<html lang="en">' in english.text and "Send reply" in english.text

    forged = await browser.post("/app/language", data={"language": "pl", "csrf_token": "x"})
    assert forged.status_code == 403
    chosen = await browser.post(
        "/app/language",
        data={"language": "pl", "next": "//evil.example/", "csrf_token": csrf},
    )
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/app/conversations"  # never off-site
    assert "tl_lang=pl" in chosen.headers["set-cookie"]

    page = await browser.get(f"/app/conversations/{conversation_id}")
    assert '<html lang="pl">' in page.text
    for polish in ("Wyślij odpowiedź", "Notatka wewnętrzna", "Rozwiąż", "od klienta"):
        assert polish in page.text, polish
    assert "Send reply" not in page.text
    listing = await browser.get("/app/conversations")
    assert "Nieprzypisane" in listing.text and "Otwarta" in listing.text


async def test_ukrainian_comes_from_the_browser_or_from_the_menu_once_signed_in(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    # The browser's languages decide the sign-in page: weights count, regions do not.
    for header, shown in (
        ("uk-UA,uk;q=0.9", "uk"),
        ("de-DE,pl;q=0.5,uk;q=0.8", "uk"),
        ("uk;q=0,pl;q=0.2", "pl"),
        ("fr-FR,*;q=0.5", "en"),
    ):
        page = await client.get("/app/login", headers={"Accept-Language": header})
        assert f'<html lang="{shown}">' in page.text, header
    ukrainian = await client.get("/app/login", headers={"Accept-Language": "uk-UA,uk;q=0.9"})
    for text in ("<title>Вхід", "Електронна пошта", "Пароль", "Увійти"):
        assert text in ukrainian.text, text
    assert "Sign in" not in ukrainian.text and "Password" not in ukrainian.text
    # The menu names each language in that language, for whoever cannot read this one.
    for code, name in (("en", "English"), ("pl", "Polski"), ("uk", "Українська")):
        assert re.search(rf'value="{code}" lang="{code}"[^>]*>{name}</button>', ukrainian.text)

    # An agent whose browser asks for Polish picks Ukrainian from the menu: it sticks.
    browser.headers["Accept-Language"] = "pl-PL,pl;q=0.9"
    csrf = await sign_in(browser, f"agent@{workspace.slug}.example.com")
    polish = await browser.get("/app/tasks")
    assert '<html lang="pl">' in polish.text and 'data-testid="language-uk"' in polish.text
    chosen = await browser.post(
        "/app/language", data={"language": "uk", "next": "/app/tasks", "csrf_token": csrf}
    )
    assert chosen.status_code == 303 and chosen.headers["location"] == "/app/tasks"
    for path, texts in (
        ("/app/tasks", ("<h1>Завдання</h1>", "Відкритих завдань немає.", "Вийти")),
        ("/app/conversations", ("Розмови", ">Нікому<", "Скинути фільтри")),
    ):
        page = await browser.get(path)
        assert '<html lang="uk">' in page.text, path
        for text in texts:
            assert text in page.text, (path, text)
        assert "Wyloguj" not in page.text and "Sign out" not in page.text, path
    unknown = await browser.post(
        "/app/language", data={"language": "de", "next": "/app/tasks", "csrf_token": csrf}
    )
    assert unknown.status_code == 422 and "en, pl, uk" in unknown.text


async def test_the_list_filters_and_never_shows_another_workspace(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    other_workspace: WorkspaceFixture,
) -> None:
    theirs = await customer_writes(
        client, other_workspace, "sms", "phone", "+48600100200", "Secret of globex"
    )
    admin = await login(client, workspace.slug, "admin")
    # SMS must be answered within 2 hours; email has no target.
    policy = {"name": "SMS", "conditions": {"channel": ["sms"]}, "first_response_seconds": 7200}
    made = await client.post("/api/v1/sla/policies", json=policy, headers=admin)
    assert made.status_code == 201, made.text
    mine = await customer_writes(client, workspace, "email", "email", "a@example.com", "Mine")
    nobody = await customer_writes(client, workspace, "sms", "phone", "+48600000001", "Nobody")
    await assign_to(client, admin, mine["conversation_id"], workspace.agent_id)
    await sign_in(browser, f"agent@{workspace.slug}.example.com")

    def rows(page: httpx.Response) -> set[int]:
        return {int(i) for i in re.findall(r'data-conversation-id="(\d+)"', page.text)}

    everything = rows(await browser.get("/app/conversations"))
    assert everything == {mine["conversation_id"], nobody["conversation_id"]}
    assert rows(await browser.get("/app/conversations?assignee=mine")) == {mine["conversation_id"]}
    assert rows(await browser.get("/app/conversations?assignee=unassigned")) == {
        nobody["conversation_id"]
    }
    assert rows(await browser.get("/app/conversations?channel=sms")) == {nobody["conversation_id"]}
    assert rows(await browser.get("/app/conversations?status=resolved")) == set()
    assert rows(await browser.get("/app/conversations?sla=1h")) == set()
    assert rows(await browser.get("/app/conversations?sla=4h")) == {nobody["conversation_id"]}
    bad = await browser.get("/app/conversations?status=exploded")
    assert bad.status_code == 422

    assert (await browser.get("/app/queue")).status_code == 403  # for supervisors

    # Another workspace's conversation: not listed, and its page is a 404.
    page = await browser.get(f"/app/conversations/{theirs['conversation_id']}")
    assert page.status_code == 404
    assert "Secret of globex" not in page.text
    listing = await browser.get("/app/conversations")
    assert "Secret of globex" not in listing.text


async def test_user_content_renders_inert_on_every_page(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    runtime: Runtime,
) -> None:
    script = "<script>alert(1)</script>"
    image = "<img src=x onerror=alert(1)>"
    link = '<a href="javascript:alert(1)">click</a>'
    received = await customer_writes(
        client,
        workspace,
        "email",
        "email",
        "evil@example.com",
        f"Hi {script} {image} {link}",
        sender_name=script,
        subject=image,
    )
    conversation_id = received["conversation_id"]
    admin = await login(client, workspace.slug, "admin")
    patched = await client.patch(
        f"/api/v1/customers/{received['customer_id']}",
        json={"attributes": {image: script, "site": "javascript:alert(1)"}},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    note = await client.post(
        f"/api/v1/customers/{received['customer_id']}/notes", json={"text": link}, headers=admin
    )
    assert note.status_code == 201, note.text
    # Stored HTML as if some other path had let it through uncleaned: it is cleaned again.
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(t.Message)
            .where(t.Message.id == received["message_id"])
            .values(
                html=f"<p>Bold <b>offer</b></p>{script}{image}{link}{TRACKER}",
                meta={"email": {"full_text": "Hi\n\n> quoted earlier mail " + script}},
            )
        )
        await session.commit()
    await sign_in(browser, f"super@{workspace.slug}.example.com")

    reflected = "x onfocus=alert(1) autofocus y"
    pages = [
        "/app/conversations",
        f"/app/conversations?label={quote(script + reflected)}",
        f"/app/conversations/{conversation_id}",
        "/app/queue",
        "/app/tasks",
    ]
    for path in pages:
        page = await browser.get(path)
        assert page.status_code == 200, path
        for payload in (script, image, link):
            assert payload not in page.text, (path, payload)
        assert active_content(page.text) == [], path
        assert 'href="javascript:' not in page.text, path
        assert "onerror=alert" not in page.text.replace(html.escape(image), ""), path
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
    queue = await browser.get("/app/queue")
    waiting = re.search(
        rf'data-testid="queue-row" data-conversation-id="{conversation_id}"><td>(\d+) / (\d+)',
        queue.text,
    )
    assert waiting is not None and waiting.groups() == ("1", "1")
    card = await browser.get(f"/app/conversations/{conversation_id}")
    assert html.escape(script) in card.text  # the name, shown as text
    assert html.escape(image) in card.text  # subject and attribute name, shown as text
    assert "<b>offer</b>" in card.text  # the email's formatting stays
    # A remote image would tell the sender when the mail was read: it is not fetched.
    assert "tracker.example" not in card.text and 'alt="logo"' in card.text
    # Quoted text is folded away under <details>, as text.
    quoted = re.search(r'<details class="quoted">(.*?)</details>', card.text, re.S)
    assert quoted is not None and "&gt; quoted earlier mail &lt;script&gt;" in quoted.group(1)


TRACKER = '<img src="https://tracker.example/open.gif?m=1" alt="logo">'


def test_every_label_the_pages_show_exists_in_every_language() -> None:
    from importlib import resources

    from threadline.conversations.calls import CallOutcome
    from threadline.domain.agent_profile import Presence
    from threadline.domain.channels import Channel, IdentityKind
    from threadline.domain.content.catalogue import OrderStatus
    from threadline.domain.conversations import ConversationStatus, DeliveryStatus, Direction
    from threadline.domain.customers.offers import OfferStatus
    from threadline.domain.service_levels.sla import ClockKind
    from threadline.domain.tasks import TaskKind
    from threadline.entrypoints.web._render import catalogue
    from threadline.service_levels.clocks.views import CLOCK_STATES

    web = resources.files("threadline.entrypoints.web")
    used = set()
    for template in Path(str(web.joinpath("templates"))).rglob("*.html"):
        found = re.findall(r"\bt\('([a-z_.]+)'", template.read_text(encoding="utf-8"))
        used |= {key for key in found if not key.endswith((".", "_"))}  # prefixes: below
    for prefix, values in (
        ("status.", ConversationStatus),
        ("channel.", Channel),
        ("identity.", IdentityKind),
        ("direction.", Direction),
        ("delivery.", DeliveryStatus),
        ("presence.", Presence),
        ("offer.", OfferStatus),
        ("order.", OrderStatus),
        ("sla.", ClockKind),
        ("task.", TaskKind),
    ):
        used |= {prefix + v.value for v in values}
    used |= {f"sla.state_{s}" for s in CLOCK_STATES}
    used |= {f"call.{o.value}" for o in CallOutcome} | {"call.unknown"}
    assert len(used) > 150
    for language in ("en", "pl", "uk"):
        missing = sorted(used - set(catalogue(language)))
        assert not missing, (language, missing)
    assert catalogue("pl")["reply.send"] != catalogue("en")["reply.send"]


async def test_the_card_shows_csat_of_resolved_matters_and_the_page_only_its_own_tasks(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    runtime: Runtime,
    clock: ManualClock,
    workspace: WorkspaceFixture,
) -> None:
    phone = "+48600333444"
    async with runtime.sessionmaker() as db:
        # A new message after a resolved one starts a new conversation.
        await db.execute(
            update(t.Workspace)
            .where(t.Workspace.id == workspace.id)
            .values(reopen_window_seconds=0)
        )
        await db.commit()
    admin = await login(client, workspace.slug, "admin")
    first = await customer_writes(client, workspace, "sms", "phone", phone, "First matter")
    await resolve_as_answered(client, admin, first["conversation_id"])
    clock.advance(timedelta(seconds=1))
    second = await customer_writes(client, workspace, "email", "email", "c@example.com", "Other")
    third = await customer_writes(client, workspace, "sms", "phone", phone, "Second matter")
    assert third["conversation_id"] != first["conversation_id"]
    now = runtime.clock.now()
    async with runtime.sessionmaker() as db:
        for n, (conversation_id, customer_id, score) in enumerate(
            (
                (first["conversation_id"], first["customer_id"], 4),
                # Not resolved: no answer is shown for it.
                (third["conversation_id"], third["customer_id"], 1),
            )
        ):
            db.add(
                t.CsatSurvey(
                    workspace_id=workspace.id,
                    conversation_id=conversation_id,
                    customer_id=customer_id,
                    token=f"csat-token-{n}",
                    channel="sms",
                    resolved_at=now,
                    sent_at=now,
                    expires_at=now,
                    score=score,
                    comment=f"Comment {score}",
                    answered_at=now,
                )
            )
        await db.commit()
    for conversation_id, title in (
        (third["conversation_id"], "Call back about this"),
        (second["conversation_id"], "Someone else's matter"),
    ):
        task = {"title": title, "due_at": "2030-01-01T10:00:00+00:00"}
        made = await client.post(
            "/api/v1/tasks", json={**task, "conversation_id": conversation_id}, headers=admin
        )
        assert made.status_code == 201, made.text
    await sign_in(browser, f"agent@{workspace.slug}.example.com")

    page = await browser.get(f"/app/conversations/{third['conversation_id']}")
    assert page.status_code == 200
    card = page.text[page.text.index('data-testid="customer-card"') :]
    csat = card[card.index('data-testid="csat-history"') : card.index('data-testid="sla-clocks"')]
    assert "4/5" in csat and "Comment 4" in csat
    assert "1/5" not in csat and "Comment 1" not in csat
    tasks = page.text[page.text.index('data-testid="conversation-tasks"') :]
    tasks = tasks[: tasks.index("</section>")]
    assert "Call back about this" in tasks
    assert "Someone else" not in tasks
