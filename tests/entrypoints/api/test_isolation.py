"""Workspace isolation: no route lets one workspace read, change or even detect another's rows.

The routes are taken from the app's own OpenAPI document, so a route added later is checked
without anyone remembering to list it here.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import WorkspaceFixture, login
from tests.support.api_v1 import post_inbound
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime

pytestmark = pytest.mark.anyio

# Path parameter name -> the kind of row it names. Add a line here for a new kind of id.
ID_PARAMETERS = {
    "customer_id": "customer",
    "conversation_id": "conversation",
    "message_id": "message",
    "note_id": "note",
    "offer_id": "offer",
    "task_id": "task",
    "team_id": "team",
    "inbox_id": "inbox",
    "agent_id": "agent",
    "key_id": "api_key",
    "api_key_id": "api_key",
    "merge_id": "merge",
    "identity_id": "identity",
    "code_id": "wrap_up_code",
    "calendar_id": "sla_calendar",
    "policy_id": "sla_policy",
    "canned_response_id": "canned_response",
    "label_script_id": "label_script",
    "product_id": "product",
    "order_id": "order",
    "notification_id": "notification",
}
# A bare `{id}` is named by the path segment in front of it: /offers/{id}.
COLLECTIONS = {
    "customers": "customer",
    "conversations": "conversation",
    "messages": "message",
    "notes": "note",
    "offers": "offer",
    "tasks": "task",
    "teams": "team",
    "inboxes": "inbox",
    "agents": "agent",
    "api-keys": "api_key",
    "merges": "merge",
    "identities": "identity",
}
# Values for body fields whose schema alone does not say what a valid value is.
FIELD_VALUES: dict[str, Any] = {
    "price": "10.00",
    "currency": "EUR",
    "email": "someone@example.com",
    "password": "a long enough password",
    "webhook_url": "https://example.com/hook",
}
# Routes whose bodies have no required field but need one of a choice: the id comes from the
# caller's own workspace, so only the path's foreign id can make the call fail.
CHOSEN_BODY_IDS: dict[str, dict[str, str]] = {
    "POST /api/v1/conversations/{conversation_id}/transfer": {"agent_id": "agent"},
}
FUTURE = "2031-01-01T09:00:00+00:00"
NEVER_ISSUED_ID = 987_654_321


async def seed_everything(
    client: httpx.AsyncClient, runtime: Runtime, ws: WorkspaceFixture, clock: ManualClock
) -> dict[str, int]:
    """One row of every kind in `ws`, made the way users make them; returns kind -> id."""
    admin = await login(client, ws.slug, "admin")
    contact = await post_inbound(client, ws, value="+48601000111", text="Kettle broken")
    second = await post_inbound(
        client, ws, value="second@example.com", kind="email", channel="email"
    )
    customer = contact["customer_id"]

    async def created(path: str, body: dict[str, Any]) -> int:
        response = await client.post(path, headers=admin, json=body)
        assert response.status_code == 201, f"seeding {path}: {response.text}"
        return int(response.json()["id"])

    ids = {
        "customer": customer,
        "conversation": contact["conversation_id"],
        "message": contact["message_id"],
        "agent": ws.agent_id,
        "note": await created(f"/api/v1/customers/{customer}/notes", {"text": "VIP"}),
        "offer": await created(
            f"/api/v1/customers/{customer}/offers",
            {"product": "Kettle", "price": "20.00", "currency": "PLN"},
        ),
        "task": await created(
            "/api/v1/tasks",
            {"title": "Call back", "due_at": FUTURE, "customer_id": customer},
        ),
        "team": await created("/api/v1/teams", {"name": "Kettles"}),
        "inbox": await created("/api/v1/inboxes", {"name": "Shop app", "channel": "api"}),
        "api_key": await created("/api/v1/api-keys", {"name": "Shop"}),
        "wrap_up_code": await created(
            "/api/v1/wrap-up-codes", {"code": "quote_sent", "label": "Quote sent"}
        ),
        "sla_calendar": await created(
            "/api/v1/sla/calendars",
            {"name": "Office", "timezone": "Europe/Warsaw", "weekly": {"0": [["08:00", "16:00"]]}},
        ),
    }
    ids["sla_policy"] = await created(
        "/api/v1/sla/policies",
        {"name": "Email", "first_response_seconds": 3600, "calendar_id": ids["sla_calendar"]},
    )
    ids["canned_response"] = await created(
        "/api/v1/canned-responses",
        {"shortcut": "refund", "title": "Refund", "body": "Hi {{customer.first_name}}"},
    )
    ids["label_script"] = await created(
        "/api/v1/label-scripts", {"label": "warranty", "script": "Ask for the receipt"}
    )
    ids["product"] = await created(
        "/api/v1/products", {"sku": "KET-1", "name": "Kettle", "price": "10.00", "currency": "EUR"}
    )
    ids["order"] = await created(
        f"/api/v1/customers/{customer}/orders",
        {"number": "SO-1", "placed_at": FUTURE, "items": [{"sku": "KET-1", "quantity": 1}]},
    )
    # A notification for the workspace's agent: the admin mentions them in a note.
    await created(f"/api/v1/conversations/{contact['conversation_id']}/notes", {"text": "@agent"})
    mentioned = await client.get(
        "/api/v1/notifications", headers=await login(client, ws.slug, "agent")
    )
    ids["notification"] = mentioned.json()["notifications"][0]["id"]
    async with runtime.sessionmaker() as session, session.begin():
        identity = (
            await session.execute(select(t.Identity.id).where(t.Identity.customer_id == customer))
        ).scalar_one()
        # A merge audit row; made directly because isolation, not merging, is under test here.
        merge = t.CustomerMerge(
            workspace_id=ws.id,
            source_customer_id=second["customer_id"],
            target_customer_id=customer,
            actor_agent_id=ws.admin_id,
            moved={},
            created_at=clock.now(),
        )
        session.add(merge)
        await session.flush()
        ids.update(identity=identity, merge=merge.id)
    return ids


def id_parameters(path: str) -> list[tuple[str, str]]:
    """(parameter, kind) for every id in the path; unknown id names fail the test."""
    found = []
    segments = path.strip("/").split("/")
    for position, segment in enumerate(segments):
        match = re.fullmatch(r"\{(\w+)\}", segment)
        if match is None:
            continue
        name = match.group(1)
        if name == "id":
            kind = COLLECTIONS.get(segments[position - 1])
        elif name.endswith("_id"):
            kind = ID_PARAMETERS.get(name)
        else:
            continue
        if kind is None:
            pytest.fail(
                f"{path}: no workspace-B row for the path parameter {{{name}}}. Add it to "
                "ID_PARAMETERS (or COLLECTIONS) in tests/entrypoints/api/test_isolation.py and seed one such "
                "row in seed_everything, so the route is checked for leaks."
            )
        found.append((name, kind))
    return found


class Schemas:
    """Minimal valid instances of OpenAPI schemas, with ids taken from the caller's workspace."""

    def __init__(self, document: dict[str, Any], own_ids: dict[str, int]) -> None:
        self.components = document.get("components", {}).get("schemas", {})
        self.own_ids = own_ids

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def example(self, schema: dict[str, Any], name: str = "") -> Any:
        schema = self.resolve(schema)
        if name in FIELD_VALUES:
            return FIELD_VALUES[name]
        for combinator in ("anyOf", "oneOf", "allOf"):
            if combinator in schema:
                options = [o for o in schema[combinator] if self.resolve(o).get("type") != "null"]
                return self.example(options[0], name) if options else None
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            properties = schema.get("properties", {})
            return {
                field: self.example(properties[field], field)
                for field in schema.get("required", [])
            }
        if kind == "array":
            return [self.example(schema.get("items", {}), name)] * schema.get("minItems", 0)
        if kind == "integer":
            return self._own_id(name) or max(1, schema.get("minimum", 1))
        if kind == "number":
            return max(1, schema.get("minimum", 1))
        if kind == "boolean":
            return True
        if schema.get("format") == "date-time":
            return FUTURE
        if schema.get("format") == "email":
            return FIELD_VALUES["email"]
        return "sample".ljust(schema.get("minLength", 1), "s")[: schema.get("maxLength", 100)]

    def _own_id(self, field: str) -> int | None:
        # source_customer_id -> customer: the longest known id name the field ends with.
        for known in sorted(ID_PARAMETERS, key=len, reverse=True):
            if field.endswith(known):
                return self.own_ids.get(ID_PARAMETERS[known])
        return None

    def body(self, operation: dict[str, Any], route: str) -> Any:
        content = operation.get("requestBody", {}).get("content")
        if not content:
            return None
        if "application/json" not in content:
            pytest.fail(
                f"{route}: teach tests/entrypoints/api/test_isolation.py to send {sorted(content)}"
            )
        body = self.example(content["application/json"].get("schema", {}))
        for field, kind in CHOSEN_BODY_IDS.get(route, {}).items():
            body[field] = self.own_ids[kind]
        return body

    def query(self, operation: dict[str, Any]) -> dict[str, Any]:
        return {
            p["name"]: self.example(p.get("schema", {}), p["name"])
            for p in operation.get("parameters", [])
            if p.get("in") == "query" and p.get("required")
        }


def routes_with_ids(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if id_parameters(path)
    ]


def fill(path: str, values: dict[str, int]) -> str:
    for name, value in values.items():
        path = path.replace(f"{{{name}}}", str(value))
    return path


def id_combinations(
    path: str, theirs: dict[str, int], ours: dict[str, int]
) -> list[dict[str, int]]:
    """All of B's ids, and each of B's ids among A's: /customers/{A}/notes/{B} must not work."""
    params = id_parameters(path)
    combos = [{name: theirs[kind] for name, kind in params}]
    if len(params) > 1:
        for foreign, _ in params:
            combos.append(
                {name: theirs[kind] if name == foreign else ours[kind] for name, kind in params}
            )
    return combos


async def test_no_route_reaches_another_workspace(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    other_workspace: WorkspaceFixture,
    clock: ManualClock,
) -> None:
    ours = await seed_everything(client, runtime, workspace, clock)
    theirs = await seed_everything(client, runtime, other_workspace, clock)
    document = (await client.get("/openapi.json")).json()
    schemas = Schemas(document, ours)
    admin = await login(client, workspace.slug, "admin")
    agent = await login(client, workspace.slug, "agent")
    never_issued = dict.fromkeys(ours, NEVER_ISSUED_ID)

    routes = routes_with_ids(document)
    checked = {f"{method} {path}" for method, path, _ in routes}
    # The routes of this suite's own routers must be among those checked, or the walk is broken.
    assert {"PATCH /api/v1/offers/{offer_id}", "DELETE /api/v1/api-keys/{key_id}"} <= checked

    leaks = []
    for method, path, operation in routes:
        body = schemas.body(operation, f"{method} {path}")
        params = schemas.query(operation)
        for combo in id_combinations(path, theirs, ours):
            url = fill(path, combo)
            response = await client.request(method, url, headers=admin, json=body, params=params)
            if response.status_code != 404:
                hint = (
                    " (the generated body did not validate, so the check proved nothing: "
                    "add the field to FIELD_VALUES)"
                    if response.status_code == 422
                    else ""
                )
                leaks.append(
                    f"{method} {url} as admin -> {response.status_code}{hint}: {response.text[:200]}"
                )
            # A plain agent may be refused, but exactly as for an id that never existed.
            as_agent = await client.request(method, url, headers=agent, json=body, params=params)
            unknown = await client.request(
                method,
                fill(path, {name: never_issued[kind] for name, kind in id_parameters(path)}),
                headers=agent,
                json=body,
                params=params,
            )
            if as_agent.status_code != unknown.status_code or as_agent.status_code < 400:
                leaks.append(
                    f"{method} {url} as agent -> {as_agent.status_code}, but an id that never "
                    f"existed -> {unknown.status_code}"
                )
    assert not leaks, "workspace B is reachable from workspace A:\n" + "\n".join(leaks)

    # And B's rows are as B left them: nothing was changed or revoked from A.
    b_admin = await login(client, other_workspace.slug, "admin")
    offers = await client.get(f"/api/v1/customers/{theirs['customer']}/offers", headers=b_admin)
    assert [o["status"] for o in offers.json()] == ["proposed"]
    keys = await client.get("/api/v1/api-keys", headers=b_admin)
    assert all(k["active"] for k in keys.json())
    teams = await client.get("/api/v1/teams", headers=b_admin)
    assert [team["name"] for team in teams.json()] == ["Kettles"]
    tasks = await client.get("/api/v1/tasks", headers=b_admin)
    assert [task["status"] for task in tasks.json()] == ["open"]
    clock.advance(timedelta(minutes=1))
    assert (await post_inbound(client, other_workspace, value="+48601000111"))["duplicate"] is False


async def test_lists_show_only_the_callers_workspace(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    other_workspace: WorkspaceFixture,
    clock: ManualClock,
) -> None:
    await seed_everything(client, runtime, other_workspace, clock)
    admin = await login(client, workspace.slug, "admin")
    for path in ("/api/v1/tasks", "/api/v1/teams", "/api/v1/api-keys"):
        listed = await client.get(path, headers=admin)
        assert listed.status_code == 200
        assert len(listed.json()) == (1 if path.endswith("api-keys") else 0), path
    agents = await client.get("/api/v1/agents", headers=admin)
    assert {a["email"].split("@")[1] for a in agents.json()} == {"acme.example.com"}
    inboxes = await client.get("/api/v1/inboxes", headers=admin)
    assert sorted(i["id"] for i in inboxes.json()) == sorted(workspace.inboxes.values())


ADMIN_ROUTES = [
    ("POST", "/api/v1/agents", {"email": "x@acme.example.com", "name": "X"}),
    ("PATCH", "/api/v1/agents/{supervisor}", {"role": "agent"}),
    ("POST", "/api/v1/teams", {"name": "Blenders"}),
    ("PATCH", "/api/v1/teams/{team}", {"name": "Blenders"}),
    ("PUT", "/api/v1/teams/{team}/members", {"agent_ids": []}),
    ("POST", "/api/v1/inboxes", {"name": "Second app", "channel": "api"}),
    ("PATCH", "/api/v1/inboxes/{inbox}", {"name": "Renamed"}),
    ("GET", "/api/v1/api-keys", None),
    ("POST", "/api/v1/api-keys", {"name": "Mine"}),
    ("DELETE", "/api/v1/api-keys/{api_key}", None),
]


async def test_an_agent_is_refused_admin_routes_in_their_own_workspace(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    ours = await seed_everything(client, runtime, workspace, clock)
    ours["supervisor"] = workspace.supervisor_id
    agent = await login(client, workspace.slug, "agent")
    for method, template, body in ADMIN_ROUTES:
        url = template.format(**ours)
        response = await client.request(method, url, headers=agent, json=body)
        assert response.status_code == 403, f"{method} {url}: {response.text}"
        assert "admin" in response.json()["detail"]
    admin = await login(client, workspace.slug, "admin")
    keys = await client.get("/api/v1/api-keys", headers=admin)
    assert all(k["active"] for k in keys.json()) and len(keys.json()) == 2
