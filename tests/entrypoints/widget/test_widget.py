"""The web-chat widget over HTTP: sessions, messages, identity rules, offline email, files,
invitations, pages and escaping. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import WorkspaceFixture, customer_writes, login, make_workspace
from tests.support.widget import widget_key  # its admin route is tested below
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.entrypoints.widget import visitor_api
from threadline.seed.web_chat import seed_web_chat

pytestmark = pytest.mark.anyio

XSS_NAME = '<img src=x onerror="alert(1)">Eve'
XSS_TEXT = "<script>alert('pwned')</script> and <b onmouseover=alert(2)>bold</b>"


async def start(client: httpx.AsyncClient, key: str, **extra: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/widget/session", json={"inbox": key, **extra})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def say(client: httpx.AsyncClient, token: str, text: str, **extra: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/widget/messages", json={"text": text, **extra}, headers={"X-Visitor-Token": token}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def customer_of(runtime: Runtime, kind: str, value: str) -> int | None:
    async with runtime.sessionmaker() as session:
        return (
            await session.execute(
                select(t.Identity.customer_id).where(
                    t.Identity.kind == kind, t.Identity.value == value
                )
            )
        ).scalar_one_or_none()


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    visitor_api._limiter._hits.clear()


async def test_visitor_session_and_messages_land_in_one_conversation(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, runtime: Runtime
) -> None:
    key = await widget_key(runtime, workspace)
    session = await start(client, key)
    assert session["conversation_id"] is None
    first = await say(client, session["token"], "Hello, is the kettle in stock?", name="Ola")
    second = await say(client, session["token"], "The K-200 one.")
    assert first["conversation_id"] == second["conversation_id"]

    again = await start(client, key, token=session["token"])
    assert again["visitor_id"] == session["visitor_id"]
    assert again["conversation_id"] == first["conversation_id"]

    agent = await login(client, workspace.slug, "agent")
    messages = (
        await client.get(
            f"/api/v1/conversations/{first['conversation_id']}/messages", headers=agent
        )
    ).json()
    items = messages["items"] if isinstance(messages, dict) else messages
    assert [(m["channel"], m["direction"], m["text"]) for m in items] == [
        ("web_chat", "inbound", "Hello, is the kettle in stock?"),
        ("web_chat", "inbound", "The K-200 one."),
    ]
    customer_id = await customer_of(runtime, "web_visitor", session["visitor_id"])
    card = (await client.get(f"/api/v1/customers/{customer_id}", headers=agent)).json()
    assert card["customer"]["name"] == "Ola"

    # A forged token gets a new visitor and no access.
    tampered = session["token"][:-2] + ("00" if not session["token"].endswith("00") else "11")
    fresh = await start(client, key, token=tampered)
    assert fresh["visitor_id"] != session["visitor_id"]
    assert fresh["conversation_id"] is None
    refused = await client.post(
        "/api/v1/widget/messages", json={"text": "hi"}, headers={"X-Visitor-Token": tampered}
    )
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    unknown = await client.post("/api/v1/widget/session", json={"inbox": key[:-3] + "xyz"})
    assert unknown.status_code == 404


def forged(digest: str) -> str:
    """The digest with its last digit changed (always changed: the secret, and so the last
    digit, is random)."""
    return digest[:-1] + ("1" if digest.endswith("0") else "0")


async def test_signed_user_id_ties_the_visitor_to_the_known_customer_and_bad_hash_is_refused(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, runtime: Runtime
) -> None:
    known = await customer_writes(client, workspace, "api", "external", "shop-user-42", "order?")
    key = await widget_key(runtime, workspace)
    async with runtime.sessionmaker() as session:
        secret = (await session.get(t.Inbox, workspace.inboxes["web_chat"])).secret  # type: ignore[union-attr]
    assert secret
    good = hmac.new(secret.encode(), b"shop-user-42", hashlib.sha256).hexdigest()

    visit = await start(client, key, user_id="shop-user-42", user_hash=good)
    assert visit["identified"] is True
    sent = await say(client, visit["token"], "Where is my parcel?")
    assert sent["conversation_id"] == known["conversation_id"]
    assert await customer_of(runtime, "web_visitor", visit["visitor_id"]) == known["customer_id"]

    bad = await client.post(
        "/api/v1/widget/session",
        json={"inbox": key, "user_id": "shop-user-42", "user_hash": forged(good)},
    )
    assert bad.status_code == 403
    assert "HMAC-SHA256" in bad.json()["detail"]

    # An anonymous token does not carry over to a signed-in user, nor back.
    anonymous = await start(client, key)
    signed = await start(
        client, key, token=anonymous["token"], user_id="shop-user-42", user_hash=good
    )
    assert signed["visitor_id"] != anonymous["visitor_id"]
    logged_out = await start(client, key, token=visit["token"])
    assert logged_out["visitor_id"] != visit["visitor_id"]
    assert logged_out["conversation_id"] is None


async def test_unsigned_email_never_merges_into_the_customer_who_owns_it(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, runtime: Runtime
) -> None:
    owner = await customer_writes(client, workspace, "email", "email", "jan@example.com", "hi")
    key = await widget_key(runtime, workspace)
    visit = await start(client, key)
    sent = await say(client, visit["token"], "I am Jan, show me my orders", email="JAN@example.com")
    assert sent["email"] == {
        "address": "jan@example.com",
        "status": "unverified",
        "replies_by_email": False,
    }
    assert sent["conversation_id"] != owner["conversation_id"]
    # A malformed address is refused before the message is stored.
    bad = await client.post(
        "/api/v1/widget/messages",
        json={"text": "again", "email": "not an address"},
        headers={"X-Visitor-Token": visit["token"]},
    )
    assert bad.status_code == 422
    async with runtime.sessionmaker() as session:
        stored = await session.execute(select(t.Message.id).where(t.Message.text == "again"))
        assert stored.first() is None
    assert await customer_of(runtime, "email", "jan@example.com") == owner["customer_id"]
    visitor_customer = await customer_of(runtime, "web_visitor", visit["visitor_id"])
    assert visitor_customer != owner["customer_id"]
    async with runtime.sessionmaker() as session:
        customer = await session.get(t.Customer, visitor_customer)
        assert customer is not None
        assert customer.attributes["web_chat_email"] == "jan@example.com"
        assert customer.attributes["web_chat_email_status"] == "unverified"
    # And the owner's conversation is not the visitor's to read: a reply by email is refused.
    agent = await login(client, workspace.slug, "agent")
    by_email = await client.post(
        f"/api/v1/conversations/{sent['conversation_id']}/replies",
        json={"text": "Hello", "channel": "email"},
        headers=agent,
    )
    assert by_email.status_code == 422


async def test_offline_widget_asks_for_email_and_the_chat_continues_by_email(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, runtime: Runtime
) -> None:
    key = await widget_key(runtime, workspace)
    visit = await start(client, key)
    assert visit["agents_online"] == 0  # nobody of the workspace is online
    sent = await say(client, visit["token"], "Is anyone there?")
    response = await client.post(
        "/api/v1/widget/email",
        json={"email": "New.Person@Example.com", "offline": True},
        headers={"X-Visitor-Token": visit["token"]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["email"] == {
        "address": "new.person@example.com",
        "status": "attached",
        "replies_by_email": True,
    }
    agent = await login(client, workspace.slug, "agent")
    conversation = (
        await client.get(f"/api/v1/conversations/{sent['conversation_id']}", headers=agent)
    ).json()
    assert conversation["attributes"]["web_chat_offline"] == {
        "email": "new.person@example.com",
        "reply_by_email": True,
    }
    reply = await client.post(
        f"/api/v1/conversations/{sent['conversation_id']}/replies",
        json={"text": "Sorry we missed you: yes, it is in stock.", "channel": "email"},
        headers=agent,
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["conversation_id"] == sent["conversation_id"]
    assert reply.json()["channel"] == "email"
    # The customer answering that email lands in the same conversation.
    answer = await customer_writes(
        client, workspace, "email", "email", "new.person@example.com", "Great, thanks"
    )
    assert answer["conversation_id"] == sent["conversation_id"]

    # With an agent online, the widget says so.
    await client.post("/api/v1/agents/me/presence", json={"presence": "online"}, headers=agent)
    assert (await start(client, key))["agents_online"] == 1


async def test_sends_are_rate_limited_and_text_size_limited(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, runtime: Runtime
) -> None:
    key = await widget_key(runtime, workspace)
    visit = await start(client, key)
    headers = {"X-Visitor-Token": visit["token"]}
    too_long = await client.post(
        "/api/v1/widget/messages", json={"text": "x" * 5001}, headers=headers
    )
    assert too_long.status_code == 422
    for number in range(visitor_api.SEND_LIMIT):
        await say(client, visit["token"], f"message {number}")
    limited = await client.post(
        "/api/v1/widget/messages", json={"text": "one more"}, headers=headers
    )
    assert limited.status_code == 429
    assert "try again" in limited.json()["detail"]
    # Another visitor is not held back.
    await say(client, (await start(client, key))["token"], "hello")


async def test_files_go_through_the_attachment_store_and_only_their_visitor_gets_them(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, runtime: Runtime, tmp_path: Any
) -> None:
    runtime.settings.attachments_dir = str(tmp_path / "files")
    key = await widget_key(runtime, workspace)
    visit = await start(client, key)
    uploaded = await client.post(
        "/api/v1/widget/attachments",
        params={"filename": "../receipt.pdf"},
        content=b"%PDF-1.4 receipt",
        headers={"X-Visitor-Token": visit["token"], "Content-Type": "application/pdf"},
    )
    assert uploaded.status_code == 201, uploaded.text
    attachment = uploaded.json()["attachment"]
    assert attachment["filename"] == "receipt.pdf" and attachment["size"] == 16
    mine = await client.get(
        f"/api/v1/widget/attachments/{attachment['sha256']}", params={"token": visit["token"]}
    )
    assert mine.status_code == 200 and mine.content == b"%PDF-1.4 receipt"
    other = await start(client, key)
    await say(client, other["token"], "hi")
    theirs = await client.get(
        f"/api/v1/widget/attachments/{attachment['sha256']}", params={"token": other["token"]}
    )
    assert theirs.status_code == 404
    empty = await client.post(
        "/api/v1/widget/attachments",
        params={"filename": "x.txt"},
        content=b"",
        headers={"X-Visitor-Token": visit["token"]},
    )
    assert empty.status_code == 422
    huge = await client.post(
        "/api/v1/widget/attachments",
        params={"filename": "big.bin"},
        content=b"x" * (runtime.settings.max_body_bytes + 1),
        headers={"X-Visitor-Token": visit["token"]},
    )
    assert huge.status_code == 413


async def test_invitation_rules_are_set_per_inbox_and_matched_for_the_page(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    admin = await login(client, workspace.slug, "admin")
    inbox = workspace.inboxes["web_chat"]
    saved = await client.put(
        f"/api/v1/widget/inboxes/{inbox}",
        json={
            "prechat_enabled": True,
            "welcome_text": "Witamy!",
            "invitations": [
                {"url_pattern": "/checkout*", "seconds_on_page": 30, "message": "Help paying?"}
            ],
        },
        headers=admin,
    )
    assert saved.status_code == 200, saved.text
    key = saved.json()["public_key"]
    assert f'data-inbox="{key}"' in saved.json()["embed"]
    found = await client.get(
        "/api/v1/widget/invitation", params={"inbox": key, "path": "/checkout/pay"}
    )
    assert found.json() == {"invitation": {"message": "Help paying?", "seconds_on_page": 30}}
    none = await client.get("/api/v1/widget/invitation", params={"inbox": key, "path": "/blog"})
    assert none.json() == {"invitation": None}
    session = await start(client, key)
    assert session["settings"]["prechat_enabled"] is True
    assert session["settings"]["welcome_text"] == "Witamy!"
    bad = await client.put(
        f"/api/v1/widget/inboxes/{inbox}",
        json={"invitations": [{"url_pattern": "checkout", "message": "x"}]},
        headers=admin,
    )
    assert bad.status_code == 422 and "url_pattern" in bad.json()["detail"]
    agent = await login(client, workspace.slug, "agent")
    assert (await client.get(f"/api/v1/widget/inboxes/{inbox}", headers=agent)).status_code == 403
    email_inbox = workspace.inboxes["email"]
    assert (
        await client.get(f"/api/v1/widget/inboxes/{email_inbox}", headers=admin)
    ).status_code == 422


async def test_script_payloads_are_stored_verbatim_and_shown_inert(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, runtime: Runtime
) -> None:
    admin = await login(client, workspace.slug, "admin")
    saved = await client.put(
        f"/api/v1/widget/inboxes/{workspace.inboxes['web_chat']}",
        json={"welcome_text": "<script>alert(1)</script><img src=x onerror=alert(2)>"},
        headers=admin,
    )
    key = saved.json()["public_key"]
    visit = await start(client, key)
    sent = await say(client, visit["token"], XSS_TEXT, name=XSS_NAME)
    customer_id = await customer_of(runtime, "web_visitor", visit["visitor_id"])
    async with runtime.sessionmaker() as session:
        message = await session.get(t.Message, sent["message_id"])
        assert message is not None and message.text == XSS_TEXT
        customer = await session.get(t.Customer, customer_id)
        assert customer is not None and customer.name == XSS_NAME

    frame = await client.get("/widget/frame", params={"inbox": key, "lang": "en"})
    assert frame.status_code == 200
    html = frame.text
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    # The only scripts are our own file and the JSON config (which cannot close its tag).
    assert re.findall(r"<script[^>]*>", html) == [
        '<script type="application/json" id="widget-config">',
        '<script src="/widget/static/frame.js">',
    ]
    assert "script-src 'self'" in frame.headers["content-security-policy"]
    frame_js = (await client.get("/widget/static/frame.js")).text
    loader_js = (await client.get("/widget/loader.js")).text
    for source in (frame_js, loader_js):
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source
    assert "textContent = frame.text" in frame_js

    # The loader, the frame's languages and the selectors the browser tests rely on.
    loader = await client.get("/widget/loader.js")
    assert loader.headers["content-type"].startswith("text/javascript")
    source = loader.text.strip()
    assert source.splitlines()[-1] == "})();"  # one IIFE: nothing leaks but ThreadlineChat
    assert '"threadline-chat-frame"' in source and 'frame.title = "Chat"' in source
    assert "event.origin !== origin" in source
    for lang, word in (("pl", "Wyślij"), ("uk", "Надіслати"), ("en", "Send")):
        page = await client.get("/widget/frame", params={"inbox": key, "lang": lang})
        assert f'<html lang="{lang}">' in page.text and word in page.text
    browser = await client.get(
        "/widget/frame", params={"inbox": key}, headers={"Accept-Language": "uk-UA,uk;q=0.9"}
    )
    assert '<html lang="uk">' in browser.text
    for testid in ("widget-launcher", "prechat-form", "widget-send", "queue-position"):
        assert f'data-testid="{testid}"' in browser.text
    assert (
        await client.get("/widget/frame", params={"inbox": "wc_1_nope-nope-nope-nope"})
    ).status_code == 404


async def test_demo_shop_embeds_the_demo_workspaces_widget(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    demo = await make_workspace(runtime, "demo")
    async with runtime.uow() as uow:
        key = await seed_web_chat(uow, demo.id, demo.inboxes["web_chat"])
        await uow.commit()
    shop = await client.get("/demo/shop")
    assert shop.status_code == 200
    assert f'<script src="/widget/loader.js" data-inbox="{key}" async></script>' in shop.text
    checkout = await client.get("/demo/shop/checkout")
    assert "Checkout" in checkout.text
    found = await client.get(
        "/api/v1/widget/invitation", params={"inbox": key, "path": "/demo/shop/checkout"}
    )
    assert found.json()["invitation"]["seconds_on_page"] == 30
