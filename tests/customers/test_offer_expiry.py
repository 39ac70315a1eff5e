"""Offers expire: past `valid_until` an offer reads `expired` everywhere at once, cannot be
accepted or declined any more, and a durable timer stores the expiry and tells the screens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import WorkspaceFixture, login
from tests.entrypoints.web.test_web_workspace import sign_in
from tests.support.api_v1 import assert_problem, events_of, post_inbound
from tests.support.offers_api import post_offer
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.core.timers import fire_due_timers

pytestmark = pytest.mark.anyio


async def offer_valid_for(
    client: httpx.AsyncClient, headers: dict[str, str], customer_id: int, clock: ManualClock, s: int
) -> dict[str, Any]:
    made = await post_offer(
        client,
        headers,
        customer_id,
        {
            "product": "Blue kettle",
            "price": "39.90",
            "currency": "EUR",
            "valid_until": (clock.now() + timedelta(seconds=s)).isoformat(),
        },
    )
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "proposed"
    offer: dict[str, Any] = made.json()
    return offer


async def stored_status(runtime: Runtime, offer_id: int) -> str:
    async with runtime.sessionmaker() as session:
        offer = await session.get(t.Offer, offer_id)
        assert offer is not None
        return offer.status


async def asked_and_offered(
    client: httpx.AsyncClient, ws: WorkspaceFixture, clock: ManualClock, asked: str, s: int
) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
    """A customer asks; the agent offers them the blue kettle for `s` seconds. The agent's
    headers, the customer's message as stored and the offer."""
    contact = await post_inbound(client, ws, text=asked)
    agent = await login(client, ws.slug, "agent")
    offer = await offer_valid_for(client, agent, contact["customer_id"], clock, s)
    return agent, contact, offer


async def test_an_offer_valid_for_3_s_cannot_be_accepted_5_s_later(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    clock: ManualClock,
) -> None:
    agent, contact, offer = await asked_and_offered(
        client, workspace, clock, "Is the blue kettle on offer?", 3
    )

    clock.advance(timedelta(seconds=5))
    # No timer has run yet: what every read says comes from the clock.
    assert await stored_status(runtime, offer["id"]) == "proposed"
    listed = await client.get(f"/api/v1/customers/{contact['customer_id']}/offers", headers=agent)
    assert [o["status"] for o in listed.json()] == ["expired"]
    card = await client.get(f"/api/v1/customers/{contact['customer_id']}", headers=agent)
    assert [o["status"] for o in card.json()["offers"]] == ["expired"]
    await sign_in(browser, f"agent@{workspace.slug}.example.com")
    page = await browser.get(f"/app/conversations/{contact['conversation_id']}")
    offers = page.text[page.text.index('data-testid="offers"') :]
    offers = offers[: offers.index("</section>")]
    assert "Blue kettle" in offers and "expired" in offers and "proposed" not in offers

    for answer in ("accepted", "declined"):
        refused = await client.patch(
            f"/api/v1/offers/{offer['id']}", headers=agent, json={"status": answer}
        )
        problem = assert_problem(refused, 409, "expired", answer)
        assert offer["valid_until"] in problem["detail"]
    assert await stored_status(runtime, offer["id"]) == "proposed"
    assert await events_of(runtime, workspace.id, "offer.updated") == []


async def test_the_expiry_is_stored_by_a_timer_and_announced(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    agent, _, offer = await asked_and_offered(client, workspace, clock, "And the red one?", 60)

    clock.advance(timedelta(seconds=59))
    await fire_due_timers(runtime.uow, clock.now())
    assert await stored_status(runtime, offer["id"]) == "proposed"

    # The moment it runs out it is expired, stored and announced to every agent's screen.
    clock.advance(timedelta(seconds=1))
    assert await fire_due_timers(runtime.uow, clock.now()) == 1
    assert await stored_status(runtime, offer["id"]) == "expired"
    [updated] = await events_of(runtime, workspace.id, "offer.updated")
    assert (updated["offer"]["id"], updated["offer"]["status"]) == (offer["id"], "expired")
    refused = await client.patch(
        f"/api/v1/offers/{offer['id']}", headers=agent, json={"status": "accepted"}
    )
    assert_problem(refused, 409, "expired")


async def test_an_offer_answered_in_time_stays_answered(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    agent, contact, offer = await asked_and_offered(client, workspace, clock, "I'll take it", 3)

    clock.advance(timedelta(seconds=2))
    accepted = await client.patch(
        f"/api/v1/offers/{offer['id']}", headers=agent, json={"status": "accepted"}
    )
    assert accepted.status_code == 200, accepted.text

    clock.advance(timedelta(seconds=10))
    await fire_due_timers(runtime.uow, clock.now())
    assert await stored_status(runtime, offer["id"]) == "accepted"
    listed = await client.get(f"/api/v1/customers/{contact['customer_id']}/offers", headers=agent)
    assert [o["status"] for o in listed.json()] == ["accepted"]
    events = await events_of(runtime, workspace.id, "offer.updated")
    assert [e["offer"]["status"] for e in events] == ["accepted"]
