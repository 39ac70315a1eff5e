"""REST API v1: finding customers, their card and their cross-channel timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import WorkspaceFixture, customer_writes, login
from tests.support.conversations_api import resolve_as_answered, set_reopen_window, signed_in
from threadline.adapters.clock import ManualClock
from threadline.bootstrap import Runtime

pytestmark = pytest.mark.anyio


async def create_customer(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    name: str | None,
    identities: list[tuple[str, str]] | None = None,
) -> httpx.Response:
    """POST /customers with the name (None: none sent) and (kind, value) identities given."""
    body: dict[str, Any] = {} if name is None else {"name": name}
    if identities:
        body["identities"] = [{"kind": kind, "value": value} for kind, value in identities]
    return await client.post("/api/v1/customers", json=body, headers=headers)


async def test_search_finds_a_customer_by_a_phone_written_another_way(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    jan = await customer_writes(client, workspace, "sms", "phone", "+48601234567", "Hello")
    await customer_writes(client, workspace, "email", "email", "ola@example.com", "Hi")
    headers = await signed_in(client, workspace, "agent")

    for query in ("0048 601 234 567", "601-234-567", "+48601234567"):
        response = await client.get("/api/v1/customers", params={"q": query}, headers=headers)
        assert response.status_code == 200, response.text
        found = [c["id"] for c in response.json()["items"]]
        assert found == [jan["customer_id"]], query


async def test_search_by_email_in_capitals_and_by_part_of_the_name(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    headers = await signed_in(client, workspace, "agent")
    created = await create_customer(
        client, headers, "Jan Kowalski", [("email", "jan.kowalski@example.com")]
    )
    assert created.status_code == 201, created.text
    other = await create_customer(client, headers, "Ola Nowak")
    assert other.status_code == 201, other.text

    by_email = await client.get(
        "/api/v1/customers", params={"q": " Jan.Kowalski@EXAMPLE.com"}, headers=headers
    )
    by_name = await client.get("/api/v1/customers", params={"q": "kowal"}, headers=headers)
    assert [c["id"] for c in by_email.json()["items"]] == [created.json()["id"]]
    assert [c["id"] for c in by_name.json()["items"]] == [created.json()["id"]]
    assert by_name.json()["items"][0]["identities"][0]["value"] == "jan.kowalski@example.com"


async def test_search_pages_with_a_cursor(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    headers = await signed_in(client, workspace, "agent")
    for n in range(5):
        response = await create_customer(client, headers, f"Smith {n}")
        assert response.status_code == 201
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"q": "smith", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/customers", params=params, headers=headers)).json()
        seen += [c["name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Smith {n}" for n in range(4, -1, -1)]


async def test_creating_a_customer_checks_and_normalises_identities(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    headers = await signed_in(client, workspace, "agent")
    created = await create_customer(
        client, headers, "Ewa", [("phone", "601 234 567"), ("email", "Ewa@Example.com")]
    )
    assert created.status_code == 201, created.text
    values = sorted(i["value"] for i in created.json()["identities"])
    assert values == ["+48601234567", "ewa@example.com"]

    refusals = (
        ("X", "phone", "12", 422, "invalid phone number"),
        ("X", "email", "not-an-address", 422, "invalid email address"),
        ("Someone else", "phone", "0048601234567", 409, "+48601234567"),
    )
    for name, kind, value, status, detail in refusals:
        refused = await create_customer(client, headers, name, [(kind, value)])
        assert refused.status_code == status, value
        assert detail in refused.json()["detail"]


async def test_card_shows_identities_conversations_and_edits(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    first = await customer_writes(
        client,
        workspace,
        "voice",
        "phone",
        "+48601234567",
        "Called",
        other_identities=[{"kind": "email", "value": "jan@example.com"}],
    )
    headers = await signed_in(client, workspace, "agent")
    customer_id = first["customer_id"]

    patched = await client.patch(
        f"/api/v1/customers/{customer_id}",
        json={"name": "Jan K", "attributes": {"tier": "gold"}, "labels": ["vip"]},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    again = await client.patch(
        f"/api/v1/customers/{customer_id}",
        json={"attributes": {"city": "Kraków", "tier": None}},
        headers=headers,
    )
    assert again.json()["attributes"] == {"city": "Kraków"}
    assert again.json()["name"] == "Jan K"

    card = (await client.get(f"/api/v1/customers/{customer_id}", headers=headers)).json()
    assert card["customer"]["name"] == "Jan K"
    assert card["customer"]["labels"] == ["vip"]
    assert {i["kind"] for i in card["customer"]["identities"]} == {"phone", "email"}
    assert card["conversations"]["total"] == 1
    assert card["conversations"]["by_status"]["open"] == 1
    recent = card["conversations"]["recent"][0]
    assert recent["id"] == first["conversation_id"]
    assert recent["channels"] == ["voice"]
    assert card["notes"] == [] and card["offers"] == [] and card["open_tasks"] == []


async def test_timeline_is_newest_first_across_conversations_and_channels(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    headers = await signed_in(client, workspace, "agent")
    await set_reopen_window(runtime, workspace, 3600)
    first = await customer_writes(client, workspace, "sms", "phone", "+48601234567", "one")
    clock.advance(timedelta(minutes=5))
    await customer_writes(
        client,
        workspace,
        "email",
        "email",
        "jan@example.com",
        "two",
        other_identities=[{"kind": "phone", "value": "+48601234567"}],
    )
    await resolve_as_answered(client, headers, first["conversation_id"])
    clock.advance(timedelta(hours=2))
    second = await customer_writes(client, workspace, "web_chat", "phone", "601234567", "three")
    clock.advance(timedelta(minutes=1))
    await customer_writes(client, workspace, "voice", "phone", "+48601234567", "four")
    assert second["conversation_id"] != first["conversation_id"]

    url = f"/api/v1/customers/{first['customer_id']}/timeline"
    page1 = (await client.get(url, params={"limit": 3}, headers=headers)).json()
    assert [m["text"] for m in page1["items"]] == ["four", "three", "two"]
    assert [m["channel"] for m in page1["items"]] == ["voice", "web_chat", "email"]
    assert page1["next_before_id"] is not None
    page2 = (
        await client.get(
            url, params={"limit": 3, "before_id": page1["next_before_id"]}, headers=headers
        )
    ).json()
    assert [m["text"] for m in page2["items"]] == ["one"]
    assert page2["next_before_id"] is None
    conversations = {m["conversation_id"] for m in page1["items"] + page2["items"]}
    assert conversations == {first["conversation_id"], second["conversation_id"]}

    too_many = await client.get(url, params={"limit": 101}, headers=headers)
    assert too_many.status_code == 422


async def test_another_workspace_cannot_see_or_edit_the_customer(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, other_workspace: WorkspaceFixture
) -> None:
    jan = await customer_writes(client, workspace, "sms", "phone", "+48601234567", "Hello")
    outsider = await signed_in(client, other_workspace, "admin")
    customer_id = jan["customer_id"]

    assert (
        await client.get(f"/api/v1/customers/{customer_id}", headers=outsider)
    ).status_code == 404
    timeline = await client.get(f"/api/v1/customers/{customer_id}/timeline", headers=outsider)
    assert timeline.status_code == 404
    patch = await client.patch(
        f"/api/v1/customers/{customer_id}", json={"name": "Mallory"}, headers=outsider
    )
    assert patch.status_code == 404
    search = await client.get("/api/v1/customers", params={"q": "+48601234567"}, headers=outsider)
    assert search.json()["items"] == []
    # The same number is a different, new person in the other workspace.
    created = await create_customer(client, outsider, None, [("phone", "+48601234567")])
    assert created.status_code == 201


async def test_an_agent_adds_an_email_the_customer_gave_on_the_phone_and_can_reply_by_email(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    headers = await login(client, workspace.slug, "agent")
    call = await customer_writes(
        client, workspace, "voice", "phone", "+48 601 234 567", "Please email me the invoice"
    )
    customer_id = call["customer_id"]

    async def add_identity(kind: str, value: str) -> httpx.Response:
        return await client.post(
            f"/api/v1/customers/{customer_id}/identities",
            headers=headers,
            json={"kind": kind, "value": value},
        )

    async def reply_by_email() -> httpx.Response:
        return await client.post(
            f"/api/v1/conversations/{call['conversation_id']}/replies",
            headers=headers,
            json={"text": "Invoice attached", "channel": "email"},
        )

    no_email = await reply_by_email()
    assert no_email.status_code == 422

    added = await add_identity("email", " Jan.Kowalski@Example.com ")
    assert added.status_code == 201, added.text
    assert {"kind": "email", "value": "jan.kowalski@example.com"} in [
        {"kind": i["kind"], "value": i["value"]} for i in added.json()["identities"]
    ]
    by_email = await reply_by_email()
    assert by_email.status_code == 201, by_email.text

    again = await add_identity("email", "jan.kowalski@example.com")
    assert again.status_code == 201  # already theirs: nothing changes

    other = await customer_writes(
        client, workspace, "email", "email", "someone.else@example.com", "Hello"
    )
    taken = await add_identity("email", "someone.else@example.com")
    assert taken.status_code == 409
    assert f"already belongs to customer {other['customer_id']}" in taken.json()["detail"]
    invalid = await add_identity("phone", "12")
    assert invalid.status_code == 422
