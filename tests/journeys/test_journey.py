"""The service-level journey, end to end through the API, on a controllable clock:
an email on Friday 16:00 Warsaw with a 6-working-hour target is due on Monday (and after a
Polish public holiday, on the next working day); resolving without a wrap-up code is refused
with a clear reason; a planned follow-up brings the matter back on time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.conftest import WorkspaceFixture, customer_writes, login
from tests.support.warsaw_time import warsaw
from threadline.adapters.clock import ManualClock
from threadline.bootstrap import Runtime
from threadline.core.timers import fire_due_timers
from threadline.service_levels.defaults import seed_default_sla

pytestmark = pytest.mark.anyio


async def email_arrives(
    client: httpx.AsyncClient, ws: WorkspaceFixture, sender: str, text: str
) -> int:
    stored = await customer_writes(client, ws, "email", "email", sender, text)
    return int(stored["conversation_id"])


async def first_response_due(client: httpx.AsyncClient, ws: WorkspaceFixture, cid: int) -> datetime:
    response = await client.get(
        f"/api/v1/conversations/{cid}/sla", headers={"X-API-Key": ws.api_key}
    )
    assert response.status_code == 200, response.text
    first: dict[str, Any] = response.json()["first_response"]
    return datetime.fromisoformat(first["due_at"])


async def conversation(client: httpx.AsyncClient, ws: WorkspaceFixture, cid: int) -> Any:
    response = await client.get(f"/api/v1/conversations/{cid}", headers={"X-API-Key": ws.api_key})
    assert response.status_code == 200, response.text
    body = response.json()
    return body.get("conversation", body)


async def test_email_journey_from_friday_afternoon_to_a_follow_up(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    async with runtime.uow() as uow:
        await seed_default_sla(uow, workspace.id)
        await uow.commit()

    # Friday 6 Nov 2026, 16:00 in Warsaw: the office has just closed.
    clock.set(warsaw(2026, 11, 6, 16, 0))
    cid = await email_arrives(client, workspace, "jan@example.pl", "My kettle leaks")
    assert await first_response_due(client, workspace, cid) == warsaw(2026, 11, 9, 14, 0)

    # Monday morning the agent answers and wants to close the matter.
    clock.set(warsaw(2026, 11, 9, 9, 30))
    agent = await login(client, workspace.slug, "agent")
    base = f"/api/v1/conversations/{cid}"
    await client.post(f"{base}/assign", json={"assignee_id": workspace.agent_id}, headers=agent)
    replied = await client.post(
        f"{base}/replies", json={"text": "A replacement is on its way."}, headers=agent
    )
    assert replied.status_code == 201, replied.text

    refused = await client.post(f"{base}/status", json={"status": "resolved"}, headers=agent)
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("resolving needs a wrap-up code: one of ")
    assert (await conversation(client, workspace, cid))["status"] == "open"

    due = warsaw(2026, 11, 10, 10, 0)
    wrapped = await client.post(
        f"{base}/wrap-up",
        json={
            "code": "follow_up_planned",
            "summary": "Replacement kettle sent by courier.",
            "follow_up": {
                "due_at": due.isoformat(),
                "channel": "email",
                "note": "confirm the replacement arrived",
            },
        },
        headers=agent,
    )
    assert wrapped.status_code == 200, wrapped.text
    assert wrapped.json()["conversation"]["status"] == "resolved"

    clock.set(warsaw(2026, 11, 10, 9, 59))
    await fire_due_timers(runtime.uow, clock.now())
    assert (await conversation(client, workspace, cid))["status"] == "resolved"

    clock.set(due)
    await fire_due_timers(runtime.uow, clock.now())
    back = await conversation(client, workspace, cid)
    assert back["status"] == "open" and back["assignee_id"] == workspace.agent_id
    timeline = await client.get(f"{base}/messages", headers={"X-API-Key": workspace.api_key})
    texts = [m["text"] for m in timeline.json()["items"] if m["direction"] == "system"]
    assert texts == [
        "Re-opened: a follow-up fell due. Earlier wrap-up: follow_up_planned \u2014 "
        "Replacement kettle sent by courier.",
        "Follow-up due: confirm the replacement arrived",
    ]

    # Tuesday 10 Nov, 16:00: Wednesday 11 Nov is Independence Day, so Thursday it is.
    clock.set(warsaw(2026, 11, 10, 16, 0))
    other = await email_arrives(client, workspace, "ola@example.pl", "Invoice, please")
    assert await first_response_due(client, workspace, other) == warsaw(2026, 11, 12, 14, 0)
