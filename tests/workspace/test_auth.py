"""Signing in and out: argon2 passwords, tokens that expire or are signed out, keys that can
be forged by nobody."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta

import httpx
import jwt
import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD, WorkspaceFixture, login
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.entrypoints.sign_in_throttle import PAIR_FAILURES, WINDOW_SECONDS
from threadline.workspace import auth

pytestmark = pytest.mark.anyio


async def test_wrong_password_and_unknown_email_are_refused_alike(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    for email, password in [
        (f"agent@{workspace.slug}.example.com", "not the password"),
        (f"nobody@{workspace.slug}.example.com", PASSWORD),
    ]:
        response = await client.post(
            "/api/v1/auth/login",
            json={"workspace": workspace.slug, "email": email, "password": password},
        )
        assert response.status_code == 401
        assert response.json()["detail"] == "unknown workspace, email or password"


async def test_token_works_until_its_lifetime_ends(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    headers = await login(client, workspace.slug, "agent")
    me = await client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["agent_id"] == workspace.agent_id
    assert me.json()["role"] == "agent"

    clock.advance(timedelta(seconds=runtime.settings.token_ttl_seconds + 1))
    expired = await client.get("/api/v1/auth/me", headers=headers)
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]


async def test_signing_out_refuses_that_token_and_no_other(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    laptop = await login(client, workspace.slug, "agent")
    phone = await login(client, workspace.slug, "agent")
    api_key = await client.post("/api/v1/auth/logout", headers={"X-API-Key": workspace.api_key})
    assert api_key.status_code == 401  # API keys are revoked by an admin, not signed out

    out = await client.post("/api/v1/auth/logout", headers=laptop)
    assert out.status_code == 204
    refused = await client.get("/api/v1/auth/me", headers=laptop)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "this token was signed out; sign in again"
    assert (await client.post("/api/v1/auth/logout", headers=laptop)).status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=phone)).status_code == 200

    # The revocation is kept until the token would have expired, then cleared by the next
    # sign-out.
    clock.advance(timedelta(seconds=runtime.settings.token_ttl_seconds + 1))
    later = await login(client, workspace.slug, "agent")
    assert (await client.post("/api/v1/auth/logout", headers=later)).status_code == 204
    async with runtime.sessionmaker() as session:
        kept = (await session.execute(select(t.RevokedToken.expires_at))).scalars().all()
    assert len(kept) == 1 and kept[0] > clock.now()


async def test_password_guessing_is_slowed_down_per_account(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    def attempt(who: str, password: str) -> dict[str, str]:
        return {
            "workspace": workspace.slug,
            "email": f"{who}@{workspace.slug}.example.com",
            "password": password,
        }

    for _ in range(PAIR_FAILURES):
        wrong = await client.post("/api/v1/auth/login", json=attempt("agent", "a guess"))
        assert wrong.status_code == 401
    # Now even the right password waits: a lucky guess would gain nothing.
    throttled = await client.post("/api/v1/auth/login", json=attempt("agent", PASSWORD))
    assert throttled.status_code == 429
    assert (
        throttled.json()["detail"] == f"too many failed sign-ins; try again in {WINDOW_SECONDS} s"
    )
    # Another account from the same address is not locked out by it.
    assert (await client.post("/api/v1/auth/login", json=attempt("super", PASSWORD))).is_success

    clock.advance(timedelta(seconds=WINDOW_SECONDS))
    assert (await client.post("/api/v1/auth/login", json=attempt("agent", PASSWORD))).is_success


async def test_guesses_sent_at_the_same_moment_are_all_counted(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    guess = {
        "workspace": workspace.slug,
        "email": f"agent@{workspace.slug}.example.com",
        "password": "a guess",
    }
    answers = await asyncio.gather(
        *(client.post("/api/v1/auth/login", json=guess) for _ in range(PAIR_FAILURES + 5))
    )
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [401] * PAIR_FAILURES + [429] * 5


async def test_a_token_signed_with_another_key_is_refused(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    now = int(clock.now().timestamp())
    forged = jwt.encode(
        {"sub": str(workspace.admin_id), "ws": workspace.id, "iat": now, "exp": now + 600},
        "a key the attacker guessed, long enough to look real",
        algorithm="HS256",
    )
    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


async def test_requests_without_credentials_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/customers")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_passwords_are_hashed_at_the_recommended_argon2id_cost_unless_tests_say_otherwise() -> None:
    # This process runs with the tests' fast setting; a fresh interpreter without it is what a
    # real server is.
    env = {k: v for k, v in os.environ.items() if k != auth.FAST_HASHING_VARIABLE}
    stored = subprocess.run(
        [
            sys.executable,
            "-c",
            "from threadline.workspace.auth import hash_password as h; print(h('correct horse'))",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), stored
    # Either kind of hash verifies wherever it was made: switching costs locks nobody out.
    assert auth.verify_password("correct horse", stored)
    assert auth.hash_password("x").startswith("$argon2id$v=19$m=1024,t=1,p=1$")
