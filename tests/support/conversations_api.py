"""Helpers for the customers and conversations API tests: customers writing in, teams."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import WorkspaceFixture, login
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime


async def signed_in(client: httpx.AsyncClient, ws: WorkspaceFixture, who: str) -> dict[str, str]:
    return await login(client, ws.slug, who)


async def add_team(runtime: Runtime, ws: WorkspaceFixture, name: str) -> int:
    """A team stored directly: these tests are about conversations, not team management."""
    async with runtime.sessionmaker() as session, session.begin():
        team = t.Team(workspace_id=ws.id, name=name, created_at=runtime.clock.now())
        session.add(team)
        await session.flush()
        return team.id


async def set_reopen_window(runtime: Runtime, ws: WorkspaceFixture, seconds: int) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        workspace = await session.get(t.Workspace, ws.id)
        assert workspace is not None
        workspace.reopen_window_seconds = seconds


async def wrap_up(
    client: httpx.AsyncClient,
    agent: dict[str, str],
    cid: int,
    code: str,
    summary: str,
    follow_up: dict[str, Any] | None = None,
) -> httpx.Response:
    """Resolves conversation `cid` with a wrap-up code and summary, and a follow-up if given."""
    body: dict[str, Any] = {"code": code, "summary": summary}
    if follow_up is not None:
        body["follow_up"] = follow_up
    return await client.post(f"/api/v1/conversations/{cid}/wrap-up", json=body, headers=agent)


async def resolve_as_answered(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int
) -> None:
    """Sets the status to resolved, with the wrap-up an answered question gets."""
    resolved = await client.post(
        f"/api/v1/conversations/{conversation_id}/status",
        json={"status": "resolved", "wrap_up_code": "solved", "summary": "Answered."},
        headers=headers,
    )
    assert resolved.status_code == 200, resolved.text


async def assign_to(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int, agent_id: int
) -> None:
    """Assigns the conversation to the agent, and checks it was."""
    assigned = await client.post(
        f"/api/v1/conversations/{conversation_id}/assign",
        json={"assignee_id": agent_id},
        headers=headers,
    )
    assert assigned.status_code == 200, assigned.text


async def last_seq(runtime: Runtime, ws: WorkspaceFixture) -> int:
    """The workspace's latest event sequence number: what comes after it is new."""
    async with runtime.sessionmaker() as session:
        workspace = await session.get(t.Workspace, ws.id)
        assert workspace is not None
        return workspace.event_seq


async def timeline(client: httpx.AsyncClient, headers: dict[str, str], cid: int) -> list[Any]:
    """The conversation's messages, oldest first."""
    response = await client.get(f"/api/v1/conversations/{cid}/messages", headers=headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items
