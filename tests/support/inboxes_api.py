"""Inboxes through the API in tests: an admin asking for an API inbox, written once for the
admin, secrets and outbound address tests."""

from __future__ import annotations

import httpx


async def new_api_inbox(
    client: httpx.AsyncClient, admin: dict[str, str], webhook_url: str, **fields: str
) -> httpx.Response:
    """An admin's request for an API inbox named "Shop app" that sends replies to
    `webhook_url`; `fields` are the rest of the body (a signing secret)."""
    return await client.post(
        "/api/v1/inboxes",
        headers=admin,
        json={
            "name": "Shop app",
            "channel": "api",
            "settings": {"webhook_url": webhook_url},
            **fields,
        },
    )
