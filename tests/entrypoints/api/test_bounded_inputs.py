"""Numbers and dates outside what the database and the calendar hold are refused as invalid
(422, or 400 from a provider), never left to overflow into a server error."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import WorkspaceFixture, customer_writes, login
from tests.support.api_v1 import assert_problem
from tests.support.meta import APP_SECRET, configure_meta
from tests.support.meta_graph import running_graph
from tests.support.twilio import post_signed
from tests.support.twilio_inbox import twilio_inbox
from tests.support.web_sign_in import sign_in_with_the_form
from threadline.bootstrap import Runtime
from threadline.config import Settings
from threadline.entrypoints.api.app import create_app
from threadline.integrations.meta.signature import HEADER, sign

pytestmark = pytest.mark.anyio

BEYOND_BIGINT = 2**63
BEYOND_JSON_SAFE = 2**53


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/customers/{BEYOND_BIGINT}",
        f"/api/v1/customers/{BEYOND_JSON_SAFE}/timeline",
        f"/api/v1/conversations/{BEYOND_BIGINT}",
        f"/api/v1/messages/{BEYOND_BIGINT}",
        f"/api/v1/customers?cursor={'9' * 30}",
        f"/api/v1/conversations?assignee_id={BEYOND_BIGINT}",
        f"/api/v1/conversations/1/messages?after_id={BEYOND_BIGINT}",
        f"/api/v1/events?since={BEYOND_BIGINT}",
        f"/api/v1/tasks?assignee_id={BEYOND_BIGINT}",
        f"/api/v1/merges?customer_id={BEYOND_BIGINT}",
    ],
)
async def test_ids_beyond_what_a_row_can_have_are_invalid(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, path: str
) -> None:
    await customer_writes(client, workspace, "email", "email", "jan@example.com", "Hello")
    admin = await login(client, workspace.slug, "admin")

    response = await client.get(path, headers=admin)

    assert_problem(response, 422)


async def test_an_id_in_range_that_names_no_row_is_not_found(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    admin = await login(client, workspace.slug, "admin")

    response = await client.get(f"/api/v1/customers/{BEYOND_JSON_SAFE - 1}", headers=admin)
    inbound = await client.post(
        "/api/v1/inbound/messages",
        json={"inbox_id": 424242, "sender": {"kind": "email", "value": "a@b.cd"}, "text": "x"},
        headers={"X-API-Key": workspace.api_key},
    )

    assert_problem(response, 404, f"customer {BEYOND_JSON_SAFE - 1} not found")
    # The row is named in the singular ("inboxe" before).
    assert_problem(inbound, 404, "inbox 424242 not found")


async def test_a_conversation_cursor_naming_an_impossible_row_or_moment_is_invalid(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    admin = await login(client, workspace.slug, "admin")
    for raw in (f"2026-11-02T09:00:00+00:00|{BEYOND_BIGINT}", "0001-01-01T00:00:00+14:00|1"):
        cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        response = await client.get(
            "/api/v1/conversations", params={"cursor": cursor}, headers=admin
        )
        assert_problem(response, 422, "cursor")


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/sla/policies", {"name": "P", "first_response_seconds": 10**18}, "first"),
        ("POST", "/api/v1/sla/policies", {"name": "P", "position": BEYOND_BIGINT}, "position"),
        ("PATCH", "/api/v1/csat/settings", {"valid_seconds": 86074085019}, "valid_seconds"),
        ("PATCH", "/api/v1/csat/settings", {"delay_seconds": 2**40}, "delay_seconds"),
        ("PUT", "/api/v1/teams/1/members", {"agent_ids": [BEYOND_BIGINT]}, "agent_ids"),
        ("POST", "/api/v1/customers/1/merge", {"source_customer_id": BEYOND_BIGINT}, "source"),
        (
            "POST",
            "/api/v1/inbound/messages",
            {
                "inbox_id": BEYOND_BIGINT,
                "sender": {"kind": "email", "value": "a@example.com"},
                "text": "x",
            },
            "inbox_id",
        ),
        (
            "PUT",
            "/api/v1/routing/settings",
            {"mode": "auto", "steps": {"sticky_wait_seconds": 10**20}},
            "sticky_wait_seconds",
        ),
        (
            "PUT",
            "/api/v1/teams/1/routing",
            {"capacity": {"budget": BEYOND_BIGINT}},
            "budget",
        ),
        ("PATCH", "/api/v1/agents/2", {"capacity": {"web_chat": BEYOND_BIGINT}}, "capacity"),
    ],
)
async def test_counts_and_seconds_beyond_their_columns_are_invalid(
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    await customer_writes(client, workspace, "email", "email", "jan@example.com", "Hello")
    admin = await login(client, workspace.slug, "admin")
    await client.post("/api/v1/teams", json={"name": "Kettles"}, headers=admin)

    # Customers' messages come from apps only: that route takes the workspace's API key.
    caller = {"X-API-Key": workspace.api_key} if path.startswith("/api/v1/inbound/") else admin
    response = await client.request(method, path, json=body, headers=caller)

    assert_problem(response, 422, field)


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00+14:00",  # before the calendar once in UTC
        "9999-12-31T23:59:59-14:00",  # after it
        "3000-01-01T00:00:00Z",
        "1899-12-31T23:59:59Z",
        "2030-01-01T10:00:00",  # no time zone: which moment is it?
    ],
)
async def test_dates_outside_the_calendar_or_without_a_time_zone_are_invalid(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, moment: str
) -> None:
    contact = await customer_writes(client, workspace, "email", "email", "jan@example.com", "Hi")
    agent = await login(client, workspace.slug, "agent")
    conversation = contact["conversation_id"]

    answers = [
        await client.post(
            "/api/v1/tasks", json={"title": "Call back", "due_at": moment}, headers=agent
        ),
        await client.post(
            f"/api/v1/conversations/{conversation}/status",
            json={"status": "snoozed", "snoozed_until": moment},
            headers=agent,
        ),
        await client.get("/api/v1/tasks", params={"due_before": moment}, headers=agent),
        await client.get("/api/v1/conversations", params={"sla_due_before": moment}, headers=agent),
        await client.post(
            f"/api/v1/customers/{contact['customer_id']}/offers",
            json={"product": "Kettle", "price": "9", "currency": "EUR", "valid_until": moment},
            headers=agent,
        ),
    ]

    for answer in answers:
        assert_problem(answer, 422)


async def test_the_agent_pages_ignore_an_impossible_assignee_or_team_filter(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    await sign_in_with_the_form(client, f"agent@{workspace.slug}.example.com", workspace.slug)

    page = await client.get(
        "/app/conversations", params={"assignee": str(BEYOND_BIGINT), "team": "9" * 40}
    )
    other = await client.get(f"/app/conversations/{BEYOND_BIGINT}")

    assert page.status_code == 200, page.text
    assert other.status_code in {404, 422}, other.text


async def test_a_twilio_duration_beyond_a_count_is_a_malformed_callback(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    inbox_id = await twilio_inbox(runtime, workspace, "voice")
    pairs = [
        ("CallSid", "CA1234567890abcdef1234567890abcdef"),
        ("From", "+14155552671"),
        ("To", "+15017122661"),
        ("CallStatus", "completed"),
        ("CallDuration", "9" * 30),
    ]

    response = await post_signed(client, f"/webhooks/twilio/{inbox_id}/voice-status", pairs)

    assert_problem(response, 400, "CallDuration")


async def test_a_messenger_read_watermark_beyond_the_calendar_is_a_malformed_payload(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture, tmp_path: Path
) -> None:
    with running_graph() as graph:
        meta = await configure_meta(runtime, workspace, graph, tmp_path)
    payload = {
        "object": "page",
        "entry": [
            {
                "id": "1",
                "time": 1,
                "messaging": [
                    {
                        "sender": {"id": "24"},
                        "recipient": {"id": "1"},
                        "timestamp": 1,
                        "read": {"watermark": 10**30},
                    }
                ],
            }
        ],
    }
    raw = json.dumps(payload).encode()

    response = await client.post(
        f"/webhooks/messenger/{meta.messenger}",
        content=raw,
        headers={"Content-Type": "application/json", HEADER: sign(APP_SECRET, raw)},
    )

    assert_problem(response, 400, "watermark")


def _integer_schemas(node: Any, document: dict[str, Any], seen: set[str]) -> list[dict[str, Any]]:
    """Every integer schema reachable from `node`, following $refs once."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            seen.add(ref)
            target: Any = document
            for part in ref.removeprefix("#/").split("/"):
                target = target[part]
            found += _integer_schemas(target, document, seen)
        if node.get("type") == "integer":
            found.append(node)
        for value in node.values():
            found += _integer_schemas(value, document, seen)
    elif isinstance(node, list):
        for value in node:
            found += _integer_schemas(value, document, seen)
    return found


def test_every_integer_a_request_can_carry_is_bounded_in_the_api_document() -> None:
    """The rule for new routes too: ids, counts and seconds use the bounded types."""
    settings = Settings(database_url="sqlite+aiosqlite:///:memory:", secret_key="unused")
    document = create_app(settings).openapi()
    unbounded = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            request = [operation.get("parameters", []), operation.get("requestBody", {})]
            for schema in _integer_schemas(request, document, set()):
                if "maximum" not in schema or "minimum" not in schema:
                    unbounded.append(f"{method.upper()} {path}: {schema}")
    assert unbounded == []
