"""Signing in through the agent app's login form, CSRF token and all, as a browser does."""

from __future__ import annotations

import re

import httpx

from tests.conftest import PASSWORD

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


async def sign_in_with_the_form(
    client: httpx.AsyncClient, email: str, workspace: str, lands_on: str = "/app/conversations"
) -> None:
    """Leaves the session cookie in `client`'s jar (an admin lands on "/app/admin")."""
    form = await client.get("/app/login")
    assert form.status_code == 200
    token = CSRF_INPUT.search(form.text)
    assert token is not None
    response = await client.post(
        "/app/login",
        data={
            "email": email,
            "password": PASSWORD,
            "workspace": workspace,
            "csrf_token": token.group(1),
        },
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == lands_on
