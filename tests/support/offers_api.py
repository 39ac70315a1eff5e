"""Offers through the API in tests: an agent's offer to a customer, and one the API refuses,
written once for the record, bad-input and expiry tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import WorkspaceFixture, login
from tests.support.api_v1 import assert_problem, post_inbound, row_counts
from threadline.bootstrap import Runtime


async def post_offer(
    client: httpx.AsyncClient, headers: dict[str, str], customer_id: int, body: dict[str, Any]
) -> httpx.Response:
    """An offer of `body` (product, price, currency, ...) made to the customer."""
    return await client.post(f"/api/v1/customers/{customer_id}/offers", headers=headers, json=body)


async def assert_offer_refused(
    client: httpx.AsyncClient,
    runtime: Runtime,
    ws: WorkspaceFixture,
    body: dict[str, Any],
    reason: str,
) -> None:
    """A customer writes in; the agent's offer of `body` is refused with 422 naming `reason`,
    and nothing is written."""
    contact = await post_inbound(client, ws)
    agent = await login(client, ws.slug, "agent")
    before = await row_counts(runtime)
    response = await post_offer(client, agent, contact["customer_id"], body)
    assert_problem(response, 422, reason)
    assert await row_counts(runtime) == before
