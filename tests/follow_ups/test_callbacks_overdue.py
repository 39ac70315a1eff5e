"""Callbacks carry their own deadline; open ones past it show as overdue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import WorkspaceFixture, customer_writes
from threadline.adapters.clock import ManualClock

pytestmark = pytest.mark.anyio


async def tasks(client: httpx.AsyncClient, ws: WorkspaceFixture, query: str = "") -> list[Any]:
    response = await client.get(f"/api/v1/tasks{query}", headers={"X-API-Key": ws.api_key})
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()
    return items


async def test_a_callback_not_returned_in_time_is_overdue_until_done(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    key = {"X-API-Key": workspace.api_key}
    missed = await customer_writes(
        client,
        workspace,
        "voice",
        "phone",
        "+48601234567",
        "Missed call",
        call={"outcome": "missed", "duration_seconds": 0},
    )
    callback = await client.post(
        "/api/v1/tasks",
        json={
            "title": "Call back +48601234567",
            "kind": "callback",
            "channel": "voice",
            "due_at": (clock.now() + timedelta(hours=1)).isoformat(),
            "conversation_id": missed["conversation_id"],
        },
        headers=key,
    )
    assert callback.status_code == 201, callback.text
    assert callback.json()["overdue"] is False
    later = await client.post(
        "/api/v1/tasks",
        json={
            "title": "Call back tomorrow",
            "kind": "callback",
            "due_at": (clock.now() + timedelta(days=1)).isoformat(),
        },
        headers=key,
    )
    assert later.status_code == 201, later.text

    clock.advance(timedelta(minutes=59))
    assert await tasks(client, workspace, "?overdue=true") == []
    assert {k["overdue"] for k in await tasks(client, workspace)} == {False}

    clock.advance(timedelta(minutes=2))
    overdue = await tasks(client, workspace, "?overdue=true")
    assert [k["id"] for k in overdue] == [callback.json()["id"]]
    assert overdue[0]["overdue"] is True and overdue[0]["kind"] == "callback"
    listed = {k["id"]: k["overdue"] for k in await tasks(client, workspace)}
    assert listed == {callback.json()["id"]: True, later.json()["id"]: False}

    card = await client.get(f"/api/v1/customers/{missed['customer_id']}", headers=key)
    assert card.status_code == 200, card.text
    assert [k["overdue"] for k in card.json()["open_tasks"]] == [True]

    done = await client.patch(
        f"/api/v1/tasks/{callback.json()['id']}", json={"status": "done"}, headers=key
    )
    assert done.status_code == 200, done.text
    assert done.json()["overdue"] is False
    assert await tasks(client, workspace, "?overdue=true") == []


async def test_overdue_is_computed_against_the_workspaces_clock_not_stored(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    key = {"X-API-Key": workspace.api_key}
    created = await client.post(
        "/api/v1/tasks",
        json={
            "title": "Call back",
            "kind": "callback",
            "due_at": (clock.now() + timedelta(minutes=30)).isoformat(),
        },
        headers=key,
    )
    task_id = created.json()["id"]
    clock.advance(timedelta(hours=1))
    assert [k["overdue"] for k in await tasks(client, workspace)] == [True]
    replanned = await client.patch(
        f"/api/v1/tasks/{task_id}",
        json={"due_at": (clock.now() + timedelta(hours=1)).isoformat()},
        headers=key,
    )
    assert replanned.json()["overdue"] is False
    assert await tasks(client, workspace, "?overdue=true") == []
