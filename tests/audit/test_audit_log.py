"""The audit log: entries written with the change (and rolled back with it), append-only in the
database, secrets never in them; sign-ins and API key use recorded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.conftest import PASSWORD, WorkspaceFixture, customer_writes, login
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.audit import acting
from threadline.bootstrap import Runtime
from threadline.domain.audit import Actor, ActorKind
from threadline.workspace.agents import update_agent

pytestmark = pytest.mark.anyio


async def entries(runtime: Runtime, workspace_id: int) -> list[t.AuditEntry]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(t.AuditEntry)
            .where(t.AuditEntry.workspace_id == workspace_id)
            .order_by(t.AuditEntry.id)
        )
        return list(rows.scalars())


async def test_an_admins_change_is_an_entry_with_actor_before_and_after(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    admin = await login(client, workspace.slug, "admin")
    response = await client.patch(
        f"/api/v1/agents/{workspace.agent_id}",
        headers={**admin, "X-Request-ID": "req-audit-1"},
        json={"capacity": {"budget": 7}},
    )
    assert response.status_code == 200, response.text
    changed = [e for e in await entries(runtime, workspace.id) if e.action.startswith("agent.")]
    assert [e.action for e in changed] == ["agent.updated"]
    entry = changed[0]
    assert (entry.actor_kind, entry.actor_id, entry.actor_name) == (
        "agent",
        workspace.admin_id,
        "Ada Admin",
    )
    assert entry.object_id == str(workspace.agent_id)
    assert entry.before is not None and entry.after is not None
    assert entry.after["capacity"]["budget"] == 7
    assert entry.before["capacity"] != entry.after["capacity"]
    assert entry.request_id == "req-audit-1"
    assert entry.ip


async def test_a_rolled_back_change_leaves_no_entry(
    runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    admin = Actor(ActorKind.AGENT, workspace.admin_id, "Ada Admin")
    principal = await _admin_principal(runtime, workspace)
    with acting(admin, clock):
        async with runtime.uow() as uow:
            await update_agent(uow, principal, workspace.agent_id, {"name": "Never saved"})
            await uow.rollback()
        async with runtime.uow() as uow:
            await update_agent(uow, principal, workspace.agent_id, {"name": "Olek Saved"})
            await uow.commit()
    names = [e.after for e in await entries(runtime, workspace.id) if e.action == "agent.updated"]
    assert names == [{"name": "Olek Saved"}]


async def _admin_principal(runtime: Runtime, workspace: WorkspaceFixture) -> Any:
    from threadline.domain.security.access import Principal, Role

    return Principal(workspace_id=workspace.id, role=Role.ADMIN, agent_id=workspace.admin_id)


async def test_entries_cannot_be_changed_or_deleted(
    runtime: Runtime, workspace: WorkspaceFixture, client: httpx.AsyncClient
) -> None:
    await login(client, workspace.slug, "admin")
    (entry,) = await entries(runtime, workspace.id)
    for statement in (
        update(t.AuditEntry).where(t.AuditEntry.id == entry.id).values(action="nothing.happened"),
        delete(t.AuditEntry).where(t.AuditEntry.id == entry.id),
    ):
        async with runtime.sessionmaker() as session:
            with pytest.raises((DBAPIError, IntegrityError), match="append-only"):
                await session.execute(statement)
    assert [e.action for e in await entries(runtime, workspace.id)] == ["sign_in.succeeded"]


async def test_secrets_are_never_in_an_entry(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    admin = await login(client, workspace.slug, "admin")
    created = await client.post(
        "/api/v1/agents",
        headers=admin,
        json={
            "email": "new@acme.example.com",
            "name": "Nina New",
            "role": "agent",
            "password": "s3cret-Pass-word!",
        },
    )
    assert created.status_code == 201, created.text
    key = await client.post("/api/v1/api-keys", headers=admin, json={"name": "Shop"})
    assert key.status_code == 201, key.text
    written = await entries(runtime, workspace.id)
    dumped = repr([(e.before, e.after) for e in written])
    assert "s3cret-Pass-word!" not in dumped
    assert key.json()["key"] not in dumped
    agent_entry = next(e for e in written if e.action == "agent.created")
    assert agent_entry.after is not None and agent_entry.after["password_hash"] == "[redacted]"
    key_entry = next(e for e in written if e.action == "api_key.created")
    assert key_entry.after is not None and key_entry.after["key_hash"] == "[redacted]"


async def test_sign_ins_and_failed_ones_are_recorded(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    wrong = await client.post(
        "/api/v1/auth/login",
        json={"workspace": workspace.slug, "email": "admin@acme.example.com", "password": "nope"},
    )
    assert wrong.status_code == 401
    stranger = await client.post(
        "/api/v1/auth/login",
        json={"workspace": workspace.slug, "email": "who@else.example.com", "password": PASSWORD},
    )
    assert stranger.status_code == 401
    await login(client, workspace.slug, "admin")
    found = [(e.action, e.actor_kind, e.actor_name) for e in await entries(runtime, workspace.id)]
    assert found == [
        ("sign_in.failed", "agent", "Ada Admin"),
        ("sign_in.failed", "visitor", "who@else.example.com"),
        ("sign_in.succeeded", "agent", "Ada Admin"),
    ]


async def test_an_api_keys_use_is_its_last_use_written_once_a_minute(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    async def last_used() -> Any:
        async with runtime.sessionmaker() as session:
            return (
                await session.execute(
                    select(t.ApiKey.last_used_at).where(t.ApiKey.workspace_id == workspace.id)
                )
            ).scalar_one()

    assert await last_used() is None
    first = clock.now()
    for _ in range(3):
        answer = await client.get("/api/v1/customers", headers={"X-API-Key": workspace.api_key})
        assert answer.status_code == 200, answer.text
        clock.advance(timedelta(seconds=10))
    assert await last_used() == first
    clock.advance(timedelta(minutes=1))
    # A customer's message the app relays is customer traffic: no entry for it either.
    await customer_writes(client, workspace, "sms", "phone", "+48601234567", "Hello")
    assert await last_used() == clock.now()
    assert await entries(runtime, workspace.id) == []
