"""Roles: only an app's API key speaks for a customer; only supervisors and admins set what
routing weighs (skills, channel competences, languages, capacity) or move conversations
between teams. Agents keep their own name, photo and presence."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import WorkspaceFixture, customer_writes, login
from tests.support.routing import make_team
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.entrypoints.web._session import CSRF_HEADER, SESSION_COOKIE, csrf_token_for

pytestmark = pytest.mark.anyio


async def stored_messages(runtime: Runtime) -> int:
    async with runtime.sessionmaker() as session:
        return int(
            (await session.execute(select(func.count()).select_from(t.Message))).scalar_one()
        )


async def agent_credentials(
    client: httpx.AsyncClient, runtime: Runtime, ws: WorkspaceFixture
) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """(headers, cookies) of every signed-in way in that is not an API key."""
    found: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
    for who in ("agent", "super", "admin"):
        found[who] = (await login(client, ws.slug, who), {})
    token = found["agent"][0]["Authorization"].removeprefix("Bearer ")
    csrf = csrf_token_for(token, runtime.settings.secret_key)
    found["session cookie"] = ({CSRF_HEADER: csrf}, {SESSION_COOKIE: token})
    return found


async def test_only_an_api_key_may_post_a_customers_message_or_a_delivery_status(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    forged = {
        "inbox_id": workspace.inboxes["api"],
        "sender": {"kind": "email", "value": "victim@customer.example"},
        "text": "Please send my order to a new address: 1 Thief Lane",
    }
    reply_status = {"message_id": 1, "status": "read"}
    for who, (headers, cookies) in (await agent_credentials(client, runtime, workspace)).items():
        client.cookies.clear()
        for name, value in cookies.items():
            client.cookies.set(name, value)
        message = await client.post("/api/v1/inbound/messages", headers=headers, json=forged)
        assert message.status_code == 403, (who, message.text)
        assert "workspace API key" in message.json()["detail"]
        status = await client.post("/api/v1/inbound/status", headers=headers, json=reply_status)
        assert status.status_code == 403, (who, status.text)
    client.cookies.clear()
    assert await stored_messages(runtime) == 0

    stored = await customer_writes(client, workspace, "api", "email", "jane@customer.example", "Hi")
    assert stored["message_id"]


ROUTING_CHANGES = [
    {"skills": {"kettles": 10}},
    {"channel_competences": {"web_chat": 10}},
    {"languages": ["pl", "de", "fr"]},
    {"capacity": {"budget": 1000, "channel_limits": {"web_chat": 50}}},
]


@pytest.mark.parametrize("change", ROUTING_CHANGES, ids=lambda c: next(iter(c)))
async def test_an_agent_cannot_change_what_routing_weighs_about_themselves(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, change: dict[str, object]
) -> None:
    agent = await login(client, workspace.slug, "agent")
    url = f"/api/v1/agents/{workspace.agent_id}"
    before = (await client.get(url, headers=agent)).json()

    refused = await client.patch(url, headers=agent, json=change)

    assert refused.status_code == 403, refused.text
    assert (
        refused.json()["detail"] == f"only a supervisor or an admin can change {next(iter(change))}"
    )
    assert (await client.get(url, headers=agent)).json() == before

    supervisor = await login(client, workspace.slug, "super")
    set_by_supervisor = await client.patch(url, headers=supervisor, json=change)
    assert set_by_supervisor.status_code == 200, set_by_supervisor.text
    field, value = next(iter(change.items()))
    assert set_by_supervisor.json()[field] == value


async def test_an_agent_still_changes_their_own_name_photo_and_presence(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    agent = await login(client, workspace.slug, "agent")
    changed = await client.patch(
        f"/api/v1/agents/{workspace.agent_id}",
        headers=agent,
        json={"name": "Olek K.", "photo_url": "https://cdn.example.com/o.jpg", "presence": "away"},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["photo_url"], body["presence"]) == (
        "Olek K.",
        "https://cdn.example.com/o.jpg",
        "away",
    )


async def test_a_supervisor_sets_routing_fields_but_not_names_roles_or_deactivation(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    supervisor = await login(client, workspace.slug, "super")
    url = f"/api/v1/agents/{workspace.agent_id}"
    for change, reason in (
        ({"name": "Renamed"}, "only an admin can change name"),
        ({"role": "admin"}, "only an admin can change role"),
        ({"active": False}, "only an admin can change active"),
        ({"skills": {"kettles": 3}, "name": "Renamed"}, "only an admin can change name"),
    ):
        refused = await client.patch(url, headers=supervisor, json=change)
        assert refused.status_code == 403 and refused.json()["detail"] == reason, refused.text
    own = await client.patch(
        f"/api/v1/agents/{workspace.supervisor_id}",
        headers=supervisor,
        json={
            "capacity": {"channel_limits": {"email": 4}},
            "photo_url": "https://cdn.example.com/s.jpg",
        },
    )
    assert own.status_code == 200, own.text


async def test_only_a_supervisor_moves_a_conversation_to_another_team(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    vip = await make_team(runtime, workspace.id, "VIP", [])
    contact = await customer_writes(
        client, workspace, "api", "email", "jane@customer.example", "Hi"
    )
    assign = f"/api/v1/conversations/{contact['conversation_id']}/assign"

    agent = await login(client, workspace.slug, "agent")
    refused = await client.post(assign, headers=agent, json={"team_id": vip})
    assert refused.status_code == 403, refused.text
    assert "only a supervisor or an admin can move a conversation" in refused.json()["detail"]
    taken = await client.post(assign, headers=agent, json={"assignee_id": workspace.agent_id})
    assert taken.status_code == 200 and taken.json()["team_id"] is None, taken.text

    supervisor = await login(client, workspace.slug, "super")
    moved = await client.post(assign, headers=supervisor, json={"team_id": vip})
    assert moved.status_code == 200 and moved.json()["team_id"] == vip, moved.text
