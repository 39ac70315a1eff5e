"""One-time links: an invitation works once and for seven days, a reset for an hour; only the
newest link of an agent works; the sign-in page's reset is limited per hour; and a password
set by any of them signs the agent out of every session opened before."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.conftest import PASSWORD, WorkspaceFixture, login
from tests.support.routing import admin_of
from threadline.adapters.clock import ManualClock
from threadline.bootstrap import Runtime
from threadline.domain.errors import Forbidden
from threadline.domain.security.access import Principal, Role
from threadline.workspace import (
    IssuedLink,
    LinkNotUsable,
    invite_agent,
    open_link,
    reset_link_asked_for,
    use_link,
)

pytestmark = pytest.mark.anyio

NEW_PASSWORD = "a brand new password"


async def _invite(runtime: Runtime, ws: WorkspaceFixture, email: str) -> IssuedLink:
    async with runtime.uow() as uow:
        issued = await invite_agent(
            uow, admin_of(ws.id), email=email, name="Nina New", role=Role.AGENT
        )
        await uow.commit()
    return issued


async def _use(runtime: Runtime, token: str, password: str = NEW_PASSWORD) -> None:
    async with runtime.uow() as uow:
        await use_link(uow, token, password, password)
        await uow.commit()


async def _still_usable(runtime: Runtime, token: str, clock: ManualClock) -> bool:
    async with runtime.sessionmaker() as db:
        try:
            await open_link(db, token, clock.now())
        except LinkNotUsable:
            return False
    return True


async def test_an_invitation_works_once_and_for_seven_days(
    runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    late = await _invite(runtime, workspace, "late@acme.example")
    clock.advance(timedelta(days=7, seconds=1))
    assert not await _still_usable(runtime, late.token, clock)
    with pytest.raises(LinkNotUsable, match="expired"):
        await _use(runtime, late.token)

    prompt = await _invite(runtime, workspace, "prompt@acme.example")
    with pytest.raises(LinkNotUsable, match="not known"):
        await _use(runtime, prompt.token[:-2] + "xx")
    await _use(runtime, prompt.token)
    with pytest.raises(LinkNotUsable, match="used already"):
        await _use(runtime, prompt.token, "another password here")


async def test_only_the_newest_link_works_and_resets_are_limited_per_hour(
    runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    email = f"agent@{workspace.slug}.example.com"
    issued = []
    for _ in range(4):
        async with runtime.uow() as uow:
            issued.append(await reset_link_asked_for(uow, workspace.id, email))
            await uow.commit()
    first, second, third, fourth = issued
    assert fourth is None  # three an hour at most
    assert first is not None and second is not None and third is not None
    assert [await _still_usable(runtime, link.token, clock) for link in (first, second, third)] == [
        False,
        False,
        True,
    ]
    clock.advance(timedelta(hours=1, seconds=1))
    assert not await _still_usable(runtime, third.token, clock)
    async with runtime.uow() as uow:
        assert await reset_link_asked_for(uow, workspace.id, "nobody@acme.example") is None
        assert await reset_link_asked_for(uow, workspace.id, email) is not None


async def test_a_password_set_by_link_signs_out_the_sessions_opened_before(
    runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    before = await login(client, workspace.slug, "agent")
    assert (await client.get("/api/v1/auth/me", headers=before)).status_code == 200
    clock.advance(timedelta(seconds=5))
    async with runtime.uow() as uow:
        link = await reset_link_asked_for(uow, workspace.id, f"agent@{workspace.slug}.example.com")
        await uow.commit()
    assert link is not None
    await _use(runtime, link.token)
    refused = await client.get("/api/v1/auth/me", headers=before)
    assert refused.status_code == 401
    assert "password was changed" in refused.text
    answer = await client.post(
        "/api/v1/auth/login",
        json={
            "workspace": workspace.slug,
            "email": f"agent@{workspace.slug}.example.com",
            "password": PASSWORD,
        },
    )
    assert answer.status_code == 401


async def test_only_an_admin_invites(runtime: Runtime, workspace: WorkspaceFixture) -> None:
    supervisor = Principal(workspace_id=workspace.id, role=Role.SUPERVISOR, agent_id=None)
    async with runtime.uow() as uow:
        with pytest.raises(Forbidden):
            await invite_agent(uow, supervisor, email="x@acme.example", name="X", role=Role.AGENT)
