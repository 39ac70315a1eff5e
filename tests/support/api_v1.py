"""Helpers shared by the API v1 record, admin, isolation and bad-input tests."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from tests.conftest import WorkspaceFixture, customer_writes
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime


async def post_inbound(
    client: httpx.AsyncClient,
    ws: WorkspaceFixture,
    value: str = "+48601234567",
    text: str = "Hello",
    channel: str = "sms",
    kind: str = "phone",
) -> dict[str, Any]:
    return await customer_writes(client, ws, channel, kind, value, text)


async def get_object(
    client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> dict[str, Any]:
    """GET an API path that must answer 200 with a JSON object."""
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    found = response.json()
    assert isinstance(found, dict), found
    return found


async def event_types(runtime: Runtime, workspace_id: int) -> list[str]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(t.Event.type).where(t.Event.workspace_id == workspace_id).order_by(t.Event.seq)
        )
        return list(rows.scalars())


async def events_of(runtime: Runtime, workspace_id: int, event_type: str) -> list[dict[str, Any]]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(t.Event.payload)
            .where(t.Event.workspace_id == workspace_id, t.Event.type == event_type)
            .order_by(t.Event.seq)
        )
        return list(rows.scalars())


async def row_counts(runtime: Runtime) -> dict[str, int]:
    """How many rows the tables a bad request could have written to hold."""
    counted = (t.Customer, t.Identity, t.Conversation, t.Message, t.Event, t.Note, t.Offer, t.Task)
    async with runtime.sessionmaker() as session:
        return {
            model.__tablename__: (
                await session.execute(select(func.count()).select_from(model))
            ).scalar_one()
            for model in counted
        }


def assert_problem(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    """A problem+json answer with the given status whose detail mentions each word."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    for word in words:
        assert word.lower() in problem["detail"].lower(), problem
    return problem
