"""Bad input is refused with a reason a developer can act on, and nothing of it is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import WorkspaceFixture, login
from tests.support.api_v1 import assert_problem, post_inbound, row_counts
from tests.support.offers_api import assert_offer_refused
from threadline.bootstrap import Runtime

pytestmark = pytest.mark.anyio

INBOUND = "/api/v1/inbound/messages"


def inbound_body(ws: WorkspaceFixture, **changes: Any) -> dict[str, Any]:
    return {
        "inbox_id": ws.inboxes["email"],
        "channel": "email",
        "sender": {"kind": "email", "value": "jan@example.com"},
        "text": "Where is my parcel?",
        **changes,
    }


@pytest.mark.parametrize(
    "raw",
    [b'{"inbox_id": 1, "text": "unterminated', b"{'single': 'quotes'}", b'{"a": 1,}', b"\xff\xfe"],
)
async def test_malformed_json_is_a_400_problem_with_a_reason(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, raw: bytes
) -> None:
    before = await row_counts(runtime)
    response = await client.post(
        INBOUND,
        headers={"X-API-Key": workspace.api_key, "Content-Type": "application/json"},
        content=raw,
    )
    problem = assert_problem(response, 400)
    assert problem["title"] == "Malformed JSON"
    assert problem["detail"], "the problem must say what is wrong"
    assert await row_counts(runtime) == before


async def test_malformed_json_to_an_agent_route_is_refused_too(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    contact = await post_inbound(client, workspace)
    headers = {**await login(client, workspace.slug, "agent"), "Content-Type": "application/json"}
    before = await row_counts(runtime)
    response = await client.post(
        f"/api/v1/customers/{contact['customer_id']}/notes", headers=headers, content=b'{"text":'
    )
    assert_problem(response, 400)
    assert await row_counts(runtime) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"sender": {"kind": "email", "value": "jan@example.com", "verified": True}}, "verified"),
    ],
)
async def test_unknown_fields_are_refused_by_name(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    changes: dict[str, Any],
    field: str,
) -> None:
    before = await row_counts(runtime)
    response = await client.post(
        INBOUND, headers={"X-API-Key": workspace.api_key}, json=inbound_body(workspace, **changes)
    )
    problem = assert_problem(response, 422, field)
    assert any(field in error["field"] for error in problem["errors"])
    assert await row_counts(runtime) == before


async def test_an_unknown_field_on_an_offer_is_refused_by_name(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    offer = {"product": "Kettle", "price": "9.99", "currency": "EUR", "discount": "50%"}
    await assert_offer_refused(client, runtime, workspace, offer, "discount")


async def test_a_body_over_the_limit_is_refused_before_it_is_read(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    limit = runtime.settings.max_body_bytes
    before = await row_counts(runtime)
    response = await client.post(
        INBOUND,
        headers={"X-API-Key": workspace.api_key},
        json=inbound_body(workspace, text="x" * (limit + 1)),
    )
    assert_problem(response, 413, str(limit))
    assert await row_counts(runtime) == before


async def test_a_streamed_body_over_the_limit_is_cut_off(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    """Without a Content-Length the limit is enforced while reading."""
    limit = runtime.settings.max_body_bytes

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"inbox_id": 1, "sender": {"kind": "email", "value": "a@b.cd"}, "text": "'
        for _ in range(limit // 10_000 + 2):
            yield b"x" * 10_000
        yield b'"}'

    before = await row_counts(runtime)
    response = await client.post(
        INBOUND,
        headers={"X-API-Key": workspace.api_key, "Content-Type": "application/json"},
        content=chunks(),
    )
    assert_problem(response, 413)
    assert await row_counts(runtime) == before


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        ({"kind": "email", "value": "jan@@example"}, "invalid email address"),
        ({"kind": "email", "value": "not an email"}, "invalid email address"),
        ({"kind": "phone", "value": "12"}, "invalid phone number"),
        ({"kind": "phone", "value": "call me maybe"}, "invalid phone number"),
    ],
)
async def test_an_invalid_sender_address_is_refused_with_the_reason(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    sender: dict[str, str],
    reason: str,
) -> None:
    before = await row_counts(runtime)
    channel = "email" if sender["kind"] == "email" else "sms"
    response = await client.post(
        INBOUND,
        headers={"X-API-Key": workspace.api_key},
        json=inbound_body(
            workspace, sender=sender, channel=channel, inbox_id=workspace.inboxes[channel]
        ),
    )
    assert_problem(response, 422, reason)
    assert await row_counts(runtime) == before
