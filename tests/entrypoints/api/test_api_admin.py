"""Agents, teams, inboxes and API keys: what admins do, and what agents may do for themselves."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD, WorkspaceFixture, login
from tests.support.api_v1 import assert_problem, events_of
from tests.support.inboxes_api import new_api_inbox
from tests.support.routing import make_team
from threadline.bootstrap import Runtime

pytestmark = pytest.mark.anyio

NEW_AGENT = {"email": "nina@acme.example.com", "name": "Nina New", "password": PASSWORD}


async def patch_agent(
    client: httpx.AsyncClient, headers: dict[str, str], agent_id: int, changes: dict[str, Any]
) -> httpx.Response:
    return await client.patch(f"/api/v1/agents/{agent_id}", headers=headers, json=changes)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/agents", NEW_AGENT),
        ("POST", "/api/v1/inboxes", {"name": "Shop app", "channel": "api"}),
        ("POST", "/api/v1/api-keys", {"name": "Shop"}),
        ("GET", "/api/v1/api-keys", None),
        ("POST", "/api/v1/teams", {"name": "Kettles"}),
    ],
)
@pytest.mark.parametrize("who", ["agent", "super"])
async def test_agents_and_supervisors_cannot_do_admin_actions(
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    who: str,
    method: str,
    path: str,
    body: dict[str, object] | None,
) -> None:
    headers = await login(client, workspace.slug, who)
    response = await client.request(method, path, headers=headers, json=body)
    assert_problem(response, 403, "admin role")


async def test_an_agent_cannot_change_roles_not_even_their_own(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    agent = await login(client, workspace.slug, "agent")
    own = await patch_agent(client, agent, workspace.agent_id, {"role": "admin"})
    assert_problem(own, 403, "own role")
    other = await patch_agent(client, agent, workspace.supervisor_id, {"role": "agent"})
    assert_problem(other, 403, "only an admin")
    other_profile = await patch_agent(client, agent, workspace.supervisor_id, {"name": "Sue"})
    assert_problem(other_profile, 403, "only an admin")
    me = await client.get("/api/v1/auth/me", headers=agent)
    assert me.json()["role"] == "agent"
    assert await events_of(runtime, workspace.id, "agent.updated") == []


async def test_an_admin_changes_roles_of_others_but_not_their_own(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    admin = await login(client, workspace.slug, "admin")
    promoted = await patch_agent(client, admin, workspace.agent_id, {"role": "supervisor"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "supervisor"
    agent = await login(client, workspace.slug, "agent")
    assert (await client.get("/api/v1/auth/me", headers=agent)).json()["role"] == "supervisor"

    own = await patch_agent(client, admin, workspace.admin_id, {"role": "agent"})
    assert_problem(own, 403, "own role")


async def test_an_agent_sets_their_own_presence_and_profile(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    agent = await login(client, workspace.slug, "agent")
    online = await client.post(
        "/api/v1/agents/me/presence", headers=agent, json={"presence": "online"}
    )
    assert online.status_code == 200, online.text
    assert online.json()["presence"] == "online"

    profile = await patch_agent(
        client,
        agent,
        workspace.agent_id,
        {"photo_url": "https://cdn.example.com/olek.jpg", "presence": "away"},
    )
    assert profile.status_code == 200, profile.text
    # What routing weighs is the supervisor's to set (tests/workspace/test_role_gaps.py).
    supervisor = await login(client, workspace.slug, "super")
    routing = await patch_agent(
        client,
        supervisor,
        workspace.agent_id,
        {
            "skills": {"kettles": 9, "toasters": 3},
            "channel_competences": {"voice": 8, "web_chat": 5},
            "languages": ["pl", "en"],
            "capacity": {"budget": 100, "channel_limits": {"web_chat": 3}},
        },
    )
    assert routing.status_code == 200, routing.text
    admin = await login(client, workspace.slug, "admin")
    shown = (await client.get(f"/api/v1/agents/{workspace.agent_id}", headers=admin)).json()
    assert shown["skills"] == {"kettles": 9, "toasters": 3}
    assert shown["channel_competences"] == {"voice": 8, "web_chat": 5}
    assert shown["capacity"] == {"budget": 100, "channel_limits": {"web_chat": 3}}
    assert (shown["presence"], shown["photo_url"]) == ("away", "https://cdn.example.com/olek.jpg")
    presences = [
        e["agent"]["presence"] for e in await events_of(runtime, workspace.id, "agent.updated")
    ]
    assert presences == ["online", "away", "away"]

    too_good = await patch_agent(
        client, supervisor, workspace.agent_id, {"skills": {"kettles": 11}}
    )
    assert_problem(too_good, 422, "skills.kettles")
    bad_channel = await patch_agent(
        client, supervisor, workspace.agent_id, {"channel_competences": {"pigeon": 5}}
    )
    assert_problem(bad_channel, 422, "channel_competences")
    # Capacity is what routing reads (budget, costs, channel_limits): anything else would be
    # stored and silently ignored, so it is refused with the keys that work.
    ignored = await patch_agent(
        client, supervisor, workspace.agent_id, {"capacity": {"web_chat": 3}}
    )
    assert_problem(ignored, 422, "unknown capacity setting 'web_chat'")


async def test_presence_of_another_agent_is_the_admins_to_set(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    team = await make_team(runtime, workspace.id, "Kettles", [workspace.agent_id])
    agent = await login(client, workspace.slug, "agent")
    admin = await login(client, workspace.slug, "admin")
    url = f"/api/v1/agents/{workspace.agent_id}"

    colleague = await patch_agent(client, agent, workspace.admin_id, {"presence": "offline"})
    assert_problem(colleague, 403, "only an admin can change another agent")
    missing = await client.patch("/api/v1/agents/999999", headers=admin, json={"presence": "away"})
    assert_problem(missing, 404, "agent 999999 not found")

    away = await client.patch(url, headers=admin, json={"presence": "away"})
    assert away.status_code == 200, away.text
    assert (away.json()["presence"], away.json()["team_ids"]) == ("away", [team])
    event = (await events_of(runtime, workspace.id, "agent.updated"))[-1]
    assert (event["agent"]["presence"], event["agent"]["team_ids"]) == ("away", [team])
    shown = (await client.get(url, headers=agent)).json()
    assert shown["presence"] == "away"


async def test_an_api_key_has_no_presence(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    response = await client.post(
        "/api/v1/agents/me/presence",
        headers={"X-API-Key": workspace.api_key},
        json={"presence": "online"},
    )
    assert_problem(response, 401, "agents")


async def test_an_admin_adds_an_agent_who_can_then_sign_in(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    admin = await login(client, workspace.slug, "admin")
    created = await client.post(
        "/api/v1/agents",
        headers=admin,
        json={**NEW_AGENT, "skills": {"kettles": 4}, "channel_competences": {"email": 7}},
    )
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "agent" and created.json()["skills"] == {"kettles": 4}
    signed_in = await client.post(
        "/api/v1/auth/login",
        json={"workspace": workspace.slug, "email": NEW_AGENT["email"], "password": PASSWORD},
    )
    assert signed_in.status_code == 200
    again = await client.post("/api/v1/agents", headers=admin, json=NEW_AGENT)
    assert_problem(again, 409, "exists already")
    listed = await client.get(
        "/api/v1/agents", headers=await login(client, workspace.slug, "agent")
    )
    assert "Nina New" in [a["name"] for a in listed.json()]


async def test_teams_are_created_renamed_and_staffed(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    admin = await login(client, workspace.slug, "admin")
    team = (await client.post("/api/v1/teams", headers=admin, json={"name": "Kettles"})).json()

    async def staff(*agent_ids: int) -> httpx.Response:
        return await client.put(
            f"/api/v1/teams/{team['id']}/members",
            headers=admin,
            json={"agent_ids": list(agent_ids)},
        )

    renamed = await client.patch(
        f"/api/v1/teams/{team['id']}", headers=admin, json={"name": "Small appliances"}
    )
    assert renamed.json()["name"] == "Small appliances"
    staffed = await staff(workspace.agent_id, workspace.supervisor_id)
    assert staffed.status_code == 200
    restaffed = await staff(workspace.agent_id)
    assert restaffed.json()["member_ids"] == [workspace.agent_id]

    agent = await login(client, workspace.slug, "agent")
    teams = (await client.get("/api/v1/teams", headers=agent)).json()
    assert teams == [{**renamed.json(), "member_ids": [workspace.agent_id]}]
    me = (await client.get(f"/api/v1/agents/{workspace.agent_id}", headers=agent)).json()
    assert me["team_ids"] == [team["id"]]
    supervisor = (
        await client.get(f"/api/v1/agents/{workspace.supervisor_id}", headers=agent)
    ).json()
    assert supervisor["team_ids"] == []
    # The supervisor joined and left: both changes reached everyone's screens.
    updates = await events_of(runtime, workspace.id, "agent.updated")
    assert [u["agent"]["id"] for u in updates].count(workspace.supervisor_id) == 2

    unknown = await staff(987654)
    assert_problem(unknown, 404, "987654")
    clash = await client.post("/api/v1/teams", headers=admin, json={"name": "Small appliances"})
    assert_problem(clash, 409, "exists already")


async def test_an_api_inbox_keeps_its_webhook_and_never_shows_its_secret(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    admin = await login(client, workspace.slug, "admin")
    secret = "s3cret-signing-key-for-the-shop"
    created = await new_api_inbox(
        client, admin, "https://shop.example.com/threadline", secret=secret
    )
    assert created.status_code == 201, created.text
    inbox = created.json()
    assert inbox["settings"] == {"webhook_url": "https://shop.example.com/threadline"}
    assert inbox["has_secret"] is True

    moved = await client.patch(
        f"/api/v1/inboxes/{inbox['id']}",
        headers=admin,
        json={"settings": {"webhook_url": "https://shop.example.com/v2/threadline"}},
    )
    assert moved.json()["settings"]["webhook_url"].endswith("/v2/threadline")
    agent = await login(client, workspace.slug, "agent")
    listed = await client.get("/api/v1/inboxes", headers=agent)
    assert listed.status_code == 200
    assert "Shop app" in [i["name"] for i in listed.json()]
    assert secret not in listed.text and secret not in moved.text and secret not in created.text

    not_a_url = await client.patch(
        f"/api/v1/inboxes/{inbox['id']}",
        headers=admin,
        json={"settings": {"webhook_url": "ftp://shop.example.com"}},
    )
    assert_problem(not_a_url, 422, "webhook_url")
    unknown = await client.patch(
        f"/api/v1/inboxes/{inbox['id']}", headers=admin, json={"settings": {"colour": "red"}}
    )
    assert_problem(unknown, 422, "colour")
    by_agent = await client.patch(
        f"/api/v1/inboxes/{inbox['id']}", headers=agent, json={"name": "Mine"}
    )
    assert_problem(by_agent, 403, "admin role")


async def test_an_api_key_is_shown_once_works_and_stops_working_when_revoked(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    admin = await login(client, workspace.slug, "admin")
    created = await client.post("/api/v1/api-keys", headers=admin, json={"name": "Shop"})
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith(created.json()["prefix"])

    listed = await client.get("/api/v1/api-keys", headers=admin)
    assert key not in listed.text
    assert {"name": "Shop", "prefix": key[:10], "active": True}.items() <= listed.json()[-1].items()

    inbound = {
        "inbox_id": workspace.inboxes["api"],
        "sender": {"kind": "external", "value": "shop-42"},
        "text": "Order placed",
    }
    works = await client.post("/api/v1/inbound/messages", headers={"X-API-Key": key}, json=inbound)
    assert works.status_code == 201

    revoked = await client.delete(f"/api/v1/api-keys/{created.json()['id']}", headers=admin)
    assert revoked.status_code == 204
    refused = await client.post(
        "/api/v1/inbound/messages", headers={"X-API-Key": key}, json=inbound
    )
    assert_problem(refused, 401, "revoked")
    listed = await client.get("/api/v1/api-keys", headers=admin)
    assert listed.json()[-1]["active"] is False
