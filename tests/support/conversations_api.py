"""Helpers for the customers and conversations API tests: customers writing in, teams."""

from __future__ import annotations

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
