"""CSAT: the survey goes out after the delay on the customer's channel; answers are kept
against the conversation and the agent; duplicate and late answers follow the rules."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import WorkspaceFixture, customer_writes
from tests.support.conversations_api import signed_in
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.core.timers import fire_due_timers

pytestmark = pytest.mark.anyio

DELAY = timedelta(minutes=30)


def key(ws: WorkspaceFixture) -> dict[str, str]:
    return {"X-API-Key": ws.api_key}


async def resolved_by_agent(
    client: httpx.AsyncClient, ws: WorkspaceFixture, cid: int
) -> dict[str, Any]:
    """The agent takes the matter and resolves it (fresh sign-in: the test clock jumps)."""
    agent = await signed_in(client, ws, "agent")
    base = f"/api/v1/conversations/{cid}"
    taken = await client.post(f"{base}/assign", json={"assignee_id": ws.agent_id}, headers=agent)
    assert taken.status_code == 200, taken.text
    response = await client.post(
        f"{base}/wrap-up", json={"code": "solved", "summary": "Sorted out."}, headers=agent
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["conversation"]
    return result


async def messages(client: httpx.AsyncClient, ws: WorkspaceFixture, cid: int) -> list[Any]:
    response = await client.get(f"/api/v1/conversations/{cid}/messages", headers=key(ws))
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def surveys_sent(client: httpx.AsyncClient, ws: WorkspaceFixture, cid: int) -> list[Any]:
    return [m for m in await messages(client, ws, cid) if "csat" in (m["meta"] or {})]


async def surveys_after(
    client: httpx.AsyncClient,
    runtime: Runtime,
    clock: ManualClock,
    ws: WorkspaceFixture,
    cid: int,
    wait: timedelta = DELAY,
) -> list[Any]:
    """The surveys sent once `wait` has passed and the timers due by then have fired."""
    clock.advance(wait)
    await fire_due_timers(runtime.uow, clock.now())
    return await surveys_sent(client, ws, cid)


async def the_survey_after_resolving(
    client: httpx.AsyncClient,
    runtime: Runtime,
    clock: ManualClock,
    ws: WorkspaceFixture,
    message: tuple[str, str, str, str],
) -> Any:
    """The one survey sent for a matter: the customer writes (channel, identity kind, value,
    text), the agent resolves it, and DELAY passes."""
    received = await customer_writes(client, ws, *message)
    cid = int(received["conversation_id"])
    await resolved_by_agent(client, ws, cid)
    [survey] = await surveys_after(client, runtime, clock, ws, cid)
    return survey


async def status_of(client: httpx.AsyncClient, ws: WorkspaceFixture, cid: int) -> str:
    response = await client.get(f"/api/v1/conversations/{cid}", headers=key(ws))
    body = response.json()
    return str(body.get("conversation", body)["status"])


async def scores(client: httpx.AsyncClient, ws: WorkspaceFixture, query: str = "") -> Any:
    sup = await signed_in(client, ws, "super")
    response = await client.get(f"/api/v1/csat{query}", headers=sup)
    assert response.status_code == 200, response.text
    return response.json()


def token_in(text: str) -> str:
    match = re.search(r"http://127\.0\.0\.1:8000/csat/([A-Za-z0-9_-]+)", text)
    assert match is not None, text
    return match.group(1)


async def test_an_email_survey_goes_out_after_the_delay_and_its_link_answer_is_kept(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    received = await customer_writes(
        client, workspace, "email", "email", "jan@example.com", "Broken kettle"
    )
    cid = int(received["conversation_id"])
    resolved = await resolved_by_agent(client, workspace, cid)
    assert resolved["status"] == "resolved"

    assert (
        await surveys_after(client, runtime, clock, workspace, cid, DELAY - timedelta(seconds=1))
        == []
    )

    [survey] = await surveys_after(client, runtime, clock, workspace, cid, timedelta(seconds=1))
    assert survey["channel"] == "email" and survey["direction"] == "outbound"
    assert survey["author_agent_id"] is None and survey["delivery_status"] == "queued"
    assert survey["meta"]["recipient"] == "jan@example.com"
    assert survey["meta"]["csat"]["style"] == "link"
    assert "How did we do?" in survey["text"]
    token = token_in(survey["text"])
    async with runtime.sessionmaker() as session:
        job = (
            await session.execute(
                select(t.OutboundJob).where(t.OutboundJob.message_id == survey["id"])
            )
        ).scalar_one()
        assert job.status == "pending"
    # Asking does not re-open the matter.
    assert await status_of(client, workspace, cid) == "resolved"

    page = await client.get(f"/csat/{token}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.count('name="score"') == 5
    assert 'aria-label="5 out of 5, excellent"' in page.text

    answered = await client.post(
        f"/csat/{token}",
        content="score=4&comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E+quick",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answered.status_code == 200, answered.text
    assert "Thank you" in answered.text
    again = await client.get(f"/csat/{token}")
    assert "<script>" not in again.text and "&lt;script&gt;" in again.text

    listed = await scores(client, workspace, f"?agent_id={workspace.agent_id}")
    assert listed["count"] == 1 and listed["average"] == 4.0
    [item] = listed["items"]
    assert item["conversation_id"] == cid and item["agent_id"] == workspace.agent_id
    assert item["score"] == 4 and item["comment"] == "<script>alert(1)</script> quick"
    since = (clock.now() + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    assert (await scores(client, workspace, f"?since={since}"))["count"] == 0
    assert (await scores(client, workspace, f"?agent_id={workspace.admin_id}"))["count"] == 0


async def test_an_sms_digit_reply_is_a_score_not_a_new_matter(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    admin = await signed_in(client, workspace, "admin")
    configured = await client.patch(
        "/api/v1/csat/settings", json={"delay_seconds": 600}, headers=admin
    )
    assert configured.status_code == 200 and configured.json()["delay_seconds"] == 600
    phone = "+48601234567"
    received = await customer_writes(client, workspace, "sms", "phone", phone, "Order status?")
    cid = int(received["conversation_id"])
    await resolved_by_agent(client, workspace, cid)
    [survey] = await surveys_after(client, runtime, clock, workspace, cid, timedelta(minutes=10))
    assert survey["channel"] == "sms" and survey["meta"]["recipient"] == phone
    assert "Reply with one digit from 1 (poor) to 5 (excellent)" in survey["text"]
    assert "/csat/" in survey["text"]

    clock.advance(timedelta(minutes=5))
    answer = await customer_writes(client, workspace, "sms", "phone", phone, "5 great service")
    assert answer["conversation_id"] == cid
    assert await status_of(client, workspace, cid) == "resolved"
    stored = [m for m in await messages(client, workspace, cid) if m["id"] == answer["message_id"]]
    assert stored[0]["text"] == "5 great service" and stored[0]["direction"] == "inbound"
    listed = await scores(client, workspace)
    assert [(i["score"], i["comment"]) for i in listed["items"]] == [(5, "great service")]

    # A mis-tap corrected within the hour replaces the first answer...
    clock.advance(timedelta(minutes=20))
    await customer_writes(client, workspace, "sms", "phone", phone, "3")
    listed = await scores(client, workspace)
    assert [(i["score"], i["comment"]) for i in listed["items"]] == [(3, None)]
    assert await status_of(client, workspace, cid) == "resolved"

    # ...after it, a digit is an ordinary message again: the customer writing back.
    clock.advance(timedelta(hours=2))
    late = await customer_writes(client, workspace, "sms", "phone", phone, "4")
    assert (await scores(client, workspace))["items"][0]["score"] == 3
    assert late["conversation_id"] == cid
    assert await status_of(client, workspace, cid) == "open"


async def test_web_chat_gets_an_inline_survey(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    survey = await the_survey_after_resolving(
        client, runtime, clock, workspace, ("web_chat", "web_visitor", "visitor-42", "Hello?")
    )
    assert survey["channel"] == "web_chat"
    assert survey["meta"]["csat"]["inline"] is True
    assert survey["meta"]["csat"]["scale"] == [1, 5]
    token = survey["meta"]["csat"]["url"].rsplit("/", 1)[-1]
    answered = await client.post(f"/csat/{token}", json={"score": 5})
    assert answered.status_code == 200 and answered.json()["result"] == "record"


async def test_duplicate_and_late_link_answers(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    survey = await the_survey_after_resolving(
        client, runtime, clock, workspace, ("email", "email", "ola@example.com", "Invoice")
    )
    token = token_in(survey["text"])

    first = await client.post(f"/csat/{token}", json={"score": 2, "comment": "slow"})
    assert first.status_code == 200 and first.json()["result"] == "record"
    clock.advance(timedelta(minutes=30))
    fixed = await client.post(f"/csat/{token}", json={"score": 4})
    assert fixed.status_code == 200 and fixed.json()["result"] == "update"
    clock.advance(timedelta(hours=1))
    third = await client.post(f"/csat/{token}", json={"score": 1})
    assert third.status_code == 409 and third.json()["result"] == "already_answered"
    assert (await scores(client, workspace))["items"][0]["score"] == 4
    page = await client.get(f"/csat/{token}")
    assert "You rated our help 4 out of 5" in page.text and 'name="score"' not in page.text

    bad = await client.post(f"/csat/{token}", json={"score": 9})
    assert bad.status_code == 422

    # An unanswered survey closes after 7 days.
    late_survey = await the_survey_after_resolving(
        client, runtime, clock, workspace, ("email", "email", "ewa@example.com", "Hi")
    )
    late_token = token_in(late_survey["text"])
    clock.advance(timedelta(days=7, minutes=1))
    late = await client.post(
        f"/csat/{late_token}",
        content="score=5",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert late.status_code == 410 and "This survey has closed" in late.text
    assert (await client.get(f"/csat/{late_token}")).status_code == 410
    assert (await client.get("/csat/not-a-token")).status_code == 404


async def test_only_the_latest_resolution_is_surveyed(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    email = "jan@example.com"
    received = await customer_writes(client, workspace, "email", "email", email, "Question")
    cid = int(received["conversation_id"])
    await resolved_by_agent(client, workspace, cid)
    clock.advance(timedelta(minutes=10))
    # The customer writes back before the survey: the matter re-opens, no survey for it.
    await customer_writes(client, workspace, "email", "email", email, "One more thing")
    assert await surveys_after(client, runtime, clock, workspace, cid, timedelta(minutes=25)) == []

    await resolved_by_agent(client, workspace, cid)
    assert len(await surveys_after(client, runtime, clock, workspace, cid)) == 1
    assert len(await surveys_after(client, runtime, clock, workspace, cid, timedelta(days=1))) == 1


async def test_surveys_can_be_switched_off(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    admin = await signed_in(client, workspace, "admin")
    assert (await client.get("/api/v1/csat/settings", headers=admin)).json()["enabled"] is True
    await client.patch("/api/v1/csat/settings", json={"enabled": False}, headers=admin)
    received = await customer_writes(client, workspace, "email", "email", "a@example.com", "Hi")
    cid = int(received["conversation_id"])
    await resolved_by_agent(client, workspace, cid)
    assert await surveys_after(client, runtime, clock, workspace, cid, timedelta(hours=2)) == []
