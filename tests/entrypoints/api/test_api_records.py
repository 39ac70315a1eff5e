"""Notes, offers and tasks through the API: what one agent records, every agent sees."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.conftest import WorkspaceFixture, login
from tests.support.api_v1 import assert_problem, events_of, post_inbound
from tests.support.offers_api import assert_offer_refused, post_offer
from threadline.adapters.clock import ManualClock
from threadline.bootstrap import Runtime

pytestmark = pytest.mark.anyio


async def test_an_offer_made_by_one_agent_is_on_the_customer_for_every_agent(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    contact = await post_inbound(client, workspace, text="How much is the blue kettle?")
    agent = await login(client, workspace.slug, "agent")
    supervisor = await login(client, workspace.slug, "super")
    valid_until = (clock.now() + timedelta(days=7)).isoformat()

    made = await post_offer(
        client,
        agent,
        contact["customer_id"],
        {
            "product": "Blue kettle",
            "price": "39.90",
            "currency": "eur",
            "channel": "sms",
            "valid_until": valid_until,
            "conversation_id": contact["conversation_id"],
        },
    )
    assert made.status_code == 201, made.text
    offer = made.json()
    assert (offer["price"], offer["currency"], offer["status"]) == ("39.90", "EUR", "proposed")
    assert offer["agent_id"] == workspace.agent_id

    seen = await client.get(
        f"/api/v1/customers/{contact['customer_id']}/offers", headers=supervisor
    )
    assert seen.status_code == 200
    assert [o["id"] for o in seen.json()] == [offer["id"]]
    recorded = await events_of(runtime, workspace.id, "offer.recorded")
    assert [e["offer"]["id"] for e in recorded] == [offer["id"]]

    accepted = await client.patch(
        f"/api/v1/offers/{offer['id']}", headers=supervisor, json={"status": "accepted"}
    )
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert [
        e["offer"]["status"] for e in await events_of(runtime, workspace.id, "offer.updated")
    ] == ["accepted"]
    # An accepted offer is the record of a deal; it cannot be quietly withdrawn afterwards.
    withdrawn = await client.patch(
        f"/api/v1/offers/{offer['id']}", headers=agent, json={"status": "withdrawn"}
    )
    assert_problem(withdrawn, 409, "accepted")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"price": "-5"}, "non-negative"),
        ({"price": "10.999"}, "2 decimals"),
        ({"price": "ten"}, "price"),
        ({"currency": "E1R"}, "ISO 4217"),
        ({"valid_until": "2020-01-01T00:00:00+00:00"}, "future"),
    ],
)
async def test_an_offer_with_a_bad_price_currency_or_validity_is_refused(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    change: dict[str, str],
    reason: str,
) -> None:
    offer = {"product": "Kettle", "price": "10.00", "currency": "EUR", **change}
    await assert_offer_refused(client, runtime, workspace, offer, reason)


async def test_notes_on_a_customer_are_listed_newest_first_and_announced(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    contact = await post_inbound(client, workspace)
    other = await post_inbound(client, workspace, value="+48601999888")
    agent = await login(client, workspace.slug, "agent")
    url = f"/api/v1/customers/{contact['customer_id']}/notes"

    first = await client.post(url, headers=agent, json={"text": "Has four children"})
    clock.advance(timedelta(minutes=1))
    second = await client.post(url, headers=agent, json={"text": "Prefers SMS after 18:00"})
    assert first.status_code == second.status_code == 201
    assert first.json()["author_agent_id"] == workspace.agent_id

    admin = await login(client, workspace.slug, "admin")
    listed = await client.get(url, headers=admin)
    assert [n["text"] for n in listed.json()] == ["Prefers SMS after 18:00", "Has four children"]
    other_notes = await client.get(f"/api/v1/customers/{other['customer_id']}/notes", headers=admin)
    assert other_notes.json() == []
    created = await events_of(runtime, workspace.id, "note.created")
    assert [e["note"]["text"] for e in created] == ["Has four children", "Prefers SMS after 18:00"]


async def test_tasks_are_filtered_by_due_time_status_and_assignee(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    contact = await post_inbound(client, workspace, text="Missed call")
    agent = await login(client, workspace.slug, "agent")
    now = clock.now()

    async def plan(title: str, hours: int, **extra: object) -> dict[str, object]:
        response = await client.post(
            "/api/v1/tasks",
            headers=agent,
            json={
                "title": title,
                "due_at": (now + timedelta(hours=hours)).isoformat(),
                "conversation_id": contact["conversation_id"],
                "channel": "voice",
                **extra,
            },
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    callback = await plan("Call back", 1, kind="callback", assignee_id=workspace.agent_id)
    follow_up = await plan("Ask if the kettle works", 48, assignee_id=workspace.supervisor_id)
    later = await plan("Offer descaler", 24 * 30)
    assert callback["customer_id"] == contact["customer_id"]

    due_soon = await client.get(
        "/api/v1/tasks",
        headers=agent,
        params={"due_before": (now + timedelta(days=3)).isoformat()},
    )
    assert [k["id"] for k in due_soon.json()] == [callback["id"], follow_up["id"]]
    mine = await client.get(
        "/api/v1/tasks", headers=agent, params={"assignee_id": workspace.agent_id}
    )
    assert [k["id"] for k in mine.json()] == [callback["id"]]

    clock.advance(timedelta(minutes=40))
    done = await client.patch(
        f"/api/v1/tasks/{callback['id']}", headers=agent, json={"status": "done"}
    )
    assert done.status_code == 200
    assert done.json()["completed_at"] == clock.now().isoformat()
    still_open = await client.get("/api/v1/tasks", headers=agent, params={"status": "open"})
    assert [k["id"] for k in still_open.json()] == [follow_up["id"], later["id"]]

    moved = await client.patch(
        f"/api/v1/tasks/{later['id']}",
        headers=agent,
        json={
            "assignee_id": workspace.agent_id,
            "due_at": (now + timedelta(hours=2)).isoformat(),
        },
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["assignee_id"] == workspace.agent_id
    mine = await client.get(
        "/api/v1/tasks", headers=agent, params={"assignee_id": workspace.agent_id, "status": "open"}
    )
    assert [k["id"] for k in mine.json()] == [later["id"]]

    reopened = await client.patch(
        f"/api/v1/tasks/{callback['id']}", headers=agent, json={"due_at": now.isoformat()}
    )
    assert_problem(reopened, 409, "done")
    updates = await events_of(runtime, workspace.id, "task.updated")
    assert [e["task"]["id"] for e in updates] == [callback["id"], later["id"]]
    assert len(await events_of(runtime, workspace.id, "task.created")) == 3


async def test_a_task_for_an_unknown_assignee_is_refused(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    agent = await login(client, workspace.slug, "agent")
    response = await client.post(
        "/api/v1/tasks",
        headers=agent,
        json={"title": "Call", "due_at": clock.now().isoformat(), "assignee_id": 999_999},
    )
    assert_problem(response, 404, "agent 999999")
