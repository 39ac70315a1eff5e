"""Secrets are written, used and never shown back: not to agents, not to apps, not to admins.

Issue 13, hole 2: `GET /api/v1/inboxes` returned the mailbox passwords in the settings to
every agent, supervisor and API key.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import WorkspaceFixture, login
from tests.support.inboxes_api import new_api_inbox
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime

pytestmark = pytest.mark.anyio

SMTP_PASSWORD = "smtp-pass-Zq8rT1vX"
IMAP_PASSWORD = "imap-pass-Kd4mW9sL"
ACCESS_TOKEN = "EAAG-meta-access-token-3c9f1e"
VERIFY_TOKEN = "meta-verify-token-77ab20"
APP_SECRET = "meta-app-secret-5d0e6a9b41c2"
BOT_TOKEN = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TELEGRAM_WEBHOOK_SECRET = "tg-webhook-secret-Yx31"
SECRETS = [
    SMTP_PASSWORD,
    IMAP_PASSWORD,
    ACCESS_TOKEN,
    VERIFY_TOKEN,
    APP_SECRET,
    BOT_TOKEN,
    TELEGRAM_WEBHOOK_SECRET,
]
MAILBOX = {
    "smtp_username": "support@acme.example.com",
    "smtp_password": SMTP_PASSWORD,
    "imap_username": "support@acme.example.com",
    "imap_password": IMAP_PASSWORD,
    "display_name": "Acme Support",
}


def leaked(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


async def stored_settings(runtime: Runtime, inbox_id: int) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        inbox = await session.get(t.Inbox, inbox_id)
        assert inbox is not None
        return dict(inbox.settings)


async def configure_inboxes(
    client: httpx.AsyncClient, ws: WorkspaceFixture
) -> list[httpx.Response]:
    """The mailbox, WhatsApp and Telegram accounts as an admin sets them up; the responses."""
    admin = await login(client, ws.slug, "admin")
    responses = [
        await client.patch(
            f"/api/v1/inboxes/{ws.inboxes['email']}", headers=admin, json={"settings": MAILBOX}
        ),
        await client.patch(
            f"/api/v1/inboxes/{ws.inboxes['whatsapp']}",
            headers=admin,
            json={
                "secret": APP_SECRET,
                "settings": {
                    "phone_number_id": "106540352242922",
                    "access_token": ACCESS_TOKEN,
                    "verify_token": VERIFY_TOKEN,
                },
            },
        ),
        await client.post(
            "/api/v1/inboxes",
            headers=admin,
            json={
                "name": "Telegram bot",
                "channel": "telegram",
                "secret": BOT_TOKEN,
                "settings": {"webhook_secret": TELEGRAM_WEBHOOK_SECRET},
            },
        ),
    ]
    for response in responses:
        assert response.status_code in {200, 201}, response.text
    return responses


async def test_nobody_is_shown_a_mailbox_password_or_a_provider_token(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    written = await configure_inboxes(client, workspace)
    for response in written:
        assert leaked(response.text) == [], response.text

    viewers = {who: await login(client, workspace.slug, who) for who in ("admin", "super", "agent")}
    viewers["api key"] = {"X-API-Key": workspace.api_key}
    for who, headers in viewers.items():
        listed = await client.get("/api/v1/inboxes", headers=headers)
        assert listed.status_code == 200, (who, listed.text)
        assert leaked(listed.text) == [], (who, listed.text)
        by_id = {inbox["id"]: inbox for inbox in listed.json()}
        mailbox = by_id[workspace.inboxes["email"]]
        # What is set is said, without the values; the rest of the settings are shown.
        assert mailbox["write_only_settings_set"] == ["imap_password", "smtp_password"]
        assert mailbox["settings"] == {
            "smtp_username": "support@acme.example.com",
            "imap_username": "support@acme.example.com",
            "display_name": "Acme Support",
        }
        whatsapp = by_id[workspace.inboxes["whatsapp"]]
        assert whatsapp["write_only_settings_set"] == ["access_token", "verify_token"]
        assert whatsapp["settings"] == {"phone_number_id": "106540352242922"}
        assert whatsapp["has_secret"] is True
    # The stored values are intact: they are used, only never shown.
    assert (await stored_settings(runtime, workspace.inboxes["email"]))[
        "smtp_password"
    ] == SMTP_PASSWORD


async def test_no_read_route_shows_a_secret(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    await configure_inboxes(client, workspace)
    admin = await login(client, workspace.slug, "admin")
    document = (await client.get("/openapi.json")).json()
    inbox_ids = list(workspace.inboxes.values())
    visited = []
    for path, operations in document["paths"].items():
        if "get" not in operations:
            continue
        required = [p["name"] for p in operations["get"].get("parameters", []) if p.get("required")]
        if not required:
            urls = [path]
        elif required == ["inbox_id"]:
            urls = [path.replace("{inbox_id}", str(i)) for i in inbox_ids]
        else:
            continue
        for url in urls:
            response = await client.get(url, headers=admin)
            visited.append(url)
            assert leaked(response.text) == [], (url, response.text[:500])
    assert "/api/v1/inboxes" in visited and "/api/v1/events" in visited


async def test_editing_other_settings_keeps_a_password_and_null_clears_it(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    await configure_inboxes(client, workspace)
    admin = await login(client, workspace.slug, "admin")
    url = f"/api/v1/inboxes/{workspace.inboxes['email']}"
    shown = next(
        i
        for i in (await client.get("/api/v1/inboxes", headers=admin)).json()
        if i["id"] == workspace.inboxes["email"]
    )
    # The admin changes the display name and sends back the settings as they were shown.
    renamed = await client.patch(
        url,
        headers=admin,
        json={"settings": {**shown["settings"], "display_name": "Acme Help Desk"}},
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["write_only_settings_set"] == ["imap_password", "smtp_password"]
    stored = await stored_settings(runtime, workspace.inboxes["email"])
    assert stored["smtp_password"] == SMTP_PASSWORD
    assert stored["imap_password"] == IMAP_PASSWORD
    assert stored["display_name"] == "Acme Help Desk"

    changed = await client.patch(
        url,
        headers=admin,
        json={
            "settings": {
                **shown["settings"],
                "smtp_password": "a-new-password",
                "imap_password": None,
            }
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["write_only_settings_set"] == ["smtp_password"]
    stored = await stored_settings(runtime, workspace.inboxes["email"])
    assert stored["smtp_password"] == "a-new-password"
    assert "imap_password" not in stored


async def test_a_webhook_url_with_a_password_in_it_is_refused(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    admin = await login(client, workspace.slug, "admin")
    created = await new_api_inbox(client, admin, "https://shop:hunter2-secret@app.example.com/hook")
    assert created.status_code == 422, created.text
    assert "user name or password" in created.json()["detail"]
    assert "hunter2-secret" not in created.text
    listed = await client.get("/api/v1/inboxes", headers=admin)
    assert "hunter2-secret" not in listed.text
