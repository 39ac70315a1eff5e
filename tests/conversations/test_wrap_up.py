"""Wrap-up: resolving needs a code and a summary; a planned follow-up brings the matter back."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import WorkspaceFixture, customer_writes
from tests.support.conversations_api import add_team, last_seq, signed_in, timeline, wrap_up
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.core.timers import fire_due_timers

pytestmark = pytest.mark.anyio


async def new_matter(client: httpx.AsyncClient, ws: WorkspaceFixture, text: str) -> int:
    received = await customer_writes(client, ws, "email", "email", "jan@example.com", text)
    return int(received["conversation_id"])


def key(ws: WorkspaceFixture) -> dict[str, str]:
    """Reads use the API key: agents' sign-in tokens expire while the test clock jumps days."""
    return {"X-API-Key": ws.api_key}


async def conversation(client: httpx.AsyncClient, headers: dict[str, str], cid: int) -> Any:
    response = await client.get(f"/api/v1/conversations/{cid}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return body.get("conversation", body)


async def conversation_once_due(
    client: httpx.AsyncClient,
    runtime: Runtime,
    clock: ManualClock,
    ws: WorkspaceFixture,
    cid: int,
    moment: datetime,
) -> Any:
    """The conversation once the clock reads `moment` and the timers due by then have fired."""
    clock.set(moment)
    await fire_due_timers(runtime.uow, clock.now())
    return await conversation(client, key(ws), cid)


async def event_types(runtime: Runtime, ws: WorkspaceFixture, after_seq: int) -> list[str]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(t.Event.type)
            .where(t.Event.workspace_id == ws.id, t.Event.seq > after_seq)
            .order_by(t.Event.seq)
        )
        return list(rows.scalars())


async def test_resolving_without_a_wrap_up_code_is_refused_with_the_reason(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    agent = await signed_in(client, workspace, "agent")
    cid = await new_matter(client, workspace, "Where is my refund?")
    base = f"/api/v1/conversations/{cid}"

    refused = await client.post(f"{base}/status", json={"status": "resolved"}, headers=agent)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    detail = refused.json()["detail"]
    assert detail.startswith("resolving needs a wrap-up code: one of ")
    assert "solved" in detail and "no_action_needed" in detail

    unknown = await wrap_up(client, agent, cid, "made_up", "x")
    assert unknown.status_code == 422
    assert "'made_up' is not an active wrap-up code" in unknown.json()["detail"]

    no_summary = await client.post(
        f"{base}/status", json={"status": "resolved", "wrap_up_code": "solved"}, headers=agent
    )
    assert no_summary.status_code == 422
    assert "summary" in no_summary.json()["detail"]
    assert (await conversation(client, key(workspace), cid))["status"] == "open"

    resolved = await wrap_up(
        client, agent, cid, "solved", "Refund was sent on Monday; gave the reference."
    )
    assert resolved.status_code == 200, resolved.text
    shown = resolved.json()["conversation"]
    assert shown["status"] == "resolved"
    assert shown["wrap_up_code"] == "solved"
    assert shown["wrap_up_summary"] == "Refund was sent on Monday; gave the reference."
    assert resolved.json()["follow_up"] is None


async def test_team_codes_apply_only_to_that_teams_conversations(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    admin = await signed_in(client, workspace, "admin")
    agent = await signed_in(client, workspace, "agent")
    coffee = await add_team(runtime, workspace, "Coffee machines")
    kettles = await add_team(runtime, workspace, "Kettles")

    created = await client.post(
        "/api/v1/wrap-up-codes",
        json={"code": "Descaling_Advice", "label": "Descaling advice", "team_id": coffee},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    code = created.json()
    assert code["code"] == "descaling_advice" and code["team_id"] == coffee
    clash = await client.post(
        "/api/v1/wrap-up-codes",
        json={"code": "descaling_advice", "label": "Again", "team_id": coffee},
        headers=admin,
    )
    assert clash.status_code == 409
    by_agent = await client.post(
        "/api/v1/wrap-up-codes", json={"code": "mine", "label": "Mine"}, headers=agent
    )
    assert by_agent.status_code == 403

    offered = await client.get(f"/api/v1/wrap-up-codes?team_id={kettles}", headers=agent)
    assert "descaling_advice" not in {c["code"] for c in offered.json()}
    offered = await client.get(f"/api/v1/wrap-up-codes?team_id={coffee}", headers=agent)
    assert {"descaling_advice", "solved"} <= {c["code"] for c in offered.json()}

    cid = await new_matter(client, workspace, "My espresso machine is slow")
    base = f"/api/v1/conversations/{cid}"
    wrap = {"code": "descaling_advice", "summary": "Sent the descaling guide."}
    sup = await signed_in(client, workspace, "super")
    await client.post(f"{base}/assign", json={"team_id": kettles}, headers=sup)
    refused = await client.post(f"{base}/wrap-up", json=wrap, headers=agent)
    assert refused.status_code == 422
    assert "resolving needs a wrap-up code: one of" in refused.json()["detail"]
    assert "descaling_advice" not in refused.json()["detail"].split("one of")[-1]

    await client.post(f"{base}/assign", json={"team_id": coffee}, headers=sup)
    accepted = await client.post(f"{base}/wrap-up", json=wrap, headers=agent)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["conversation"]["wrap_up_code"] == "descaling_advice"

    # A retired code is no longer offered nor accepted; conversations keep it.
    retired = await client.patch(
        f"/api/v1/wrap-up-codes/{code['id']}", json={"active": False}, headers=admin
    )
    assert retired.status_code == 200 and retired.json()["active"] is False
    await client.post(f"{base}/status", json={"status": "open"}, headers=agent)
    again = await client.post(f"{base}/wrap-up", json=wrap, headers=agent)
    assert again.status_code == 422


async def test_a_planned_follow_up_reopens_the_conversation_on_time_for_the_agent(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    agent = await signed_in(client, workspace, "agent")
    sup = await signed_in(client, workspace, "super")
    cid = await new_matter(client, workspace, "The replacement kettle has not arrived")
    base = f"/api/v1/conversations/{cid}"
    due = clock.now() + timedelta(days=2)
    wrapped = await wrap_up(
        client,
        agent,
        cid,
        "follow_up_planned",
        "Courier delayed; promised to check on Wednesday.",
        {
            "due_at": due.isoformat(),
            "channel": "sms",
            "note": "check the courier tracking",
            "assignee": "me",
        },
    )
    assert wrapped.status_code == 200, wrapped.text
    task = wrapped.json()["follow_up"]
    assert task["kind"] == "follow_up" and task["assignee_id"] == workspace.agent_id
    assert task["channel"] == "sms" and task["conversation_id"] == cid
    # Meanwhile a supervisor hands the conversation to nobody in particular.
    await client.post(f"{base}/assign", json={"assignee_id": None}, headers=sup)

    assert (
        await conversation_once_due(
            client, runtime, clock, workspace, cid, due - timedelta(minutes=1)
        )
    )["status"] == "resolved"

    before = await last_seq(runtime, workspace)
    clock.set(due)
    assert await fire_due_timers(runtime.uow, clock.now()) >= 1
    back = await conversation(client, key(workspace), cid)
    assert back["status"] == "open"
    assert back["assignee_id"] == workspace.agent_id
    system = [m for m in await timeline(client, key(workspace), cid) if m["direction"] == "system"]
    # The wrap-up the follow-up clears is kept in the timeline, before the follow-up itself.
    assert [m["text"] for m in system] == [
        "Re-opened: a follow-up fell due. Earlier wrap-up: follow_up_planned \u2014 "
        "Courier delayed; promised to check on Wednesday.",
        "Follow-up due: check the courier tracking",
    ]
    types = await event_types(runtime, workspace, before)
    assert "conversation.updated" in types and "task.updated" in types

    # Exactly once: firing again changes nothing.
    clock.advance(timedelta(hours=1))
    assert await fire_due_timers(runtime.uow, clock.now()) == 0
    assert (
        len([m for m in await timeline(client, key(workspace), cid) if m["direction"] == "system"])
        == 2
    )


async def test_cancelled_follow_up_never_fires_and_a_replanned_one_fires_at_its_new_time(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    agent = await signed_in(client, workspace, "agent")
    first = await new_matter(client, workspace, "Invoice question")
    due = clock.now() + timedelta(hours=3)
    plan = {"due_at": due.isoformat(), "note": "send the corrected invoice"}
    wrapped = await wrap_up(client, agent, first, "solved", "Invoice to be corrected.", plan)
    task_id = wrapped.json()["follow_up"]["id"]
    cancelled = await client.patch(
        f"/api/v1/tasks/{task_id}", json={"status": "cancelled"}, headers=agent
    )
    assert cancelled.status_code == 200, cancelled.text
    assert (
        await conversation_once_due(
            client, runtime, clock, workspace, first, due + timedelta(minutes=5)
        )
    )["status"] == "resolved"

    second = await customer_writes(client, workspace, "sms", "phone", "+48601234567", "Hi")
    cid = int(second["conversation_id"])
    due = clock.now() + timedelta(hours=1)
    call_back = {"due_at": due.isoformat(), "note": "call back", "channel": "voice"}
    wrapped = await wrap_up(client, agent, cid, "solved", "Will call back.", call_back)
    task_id = wrapped.json()["follow_up"]["id"]
    later = due + timedelta(days=1)
    moved = await client.patch(
        f"/api/v1/tasks/{task_id}", json={"due_at": later.isoformat()}, headers=agent
    )
    assert moved.status_code == 200, moved.text
    assert (
        await conversation_once_due(
            client, runtime, clock, workspace, cid, due + timedelta(minutes=1)
        )
    )["status"] == "resolved"
    assert (await conversation_once_due(client, runtime, clock, workspace, cid, later))[
        "status"
    ] == "open"


async def test_a_team_follow_up_goes_back_to_the_teams_queue(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    agent = await signed_in(client, workspace, "agent")
    sup = await signed_in(client, workspace, "super")
    team = await add_team(runtime, workspace, "Refunds")
    cid = await new_matter(client, workspace, "Refund for order 1234")
    base = f"/api/v1/conversations/{cid}"
    await client.post(
        f"{base}/assign", json={"team_id": team, "assignee_id": workspace.agent_id}, headers=sup
    )
    due = clock.now() + timedelta(days=1)
    confirm = {"due_at": due.isoformat(), "note": "confirm", "assignee": "team"}
    wrapped = await wrap_up(
        client, agent, cid, "solved", "Refund approved; bank transfer pending.", confirm
    )
    assert wrapped.status_code == 200, wrapped.text
    assert wrapped.json()["follow_up"]["team_id"] == team
    assert wrapped.json()["follow_up"]["assignee_id"] is None
    back = await conversation_once_due(client, runtime, clock, workspace, cid, due)
    assert back["status"] == "open" and back["team_id"] == team and back["assignee_id"] is None


async def test_a_follow_up_in_the_past_is_refused_and_nothing_is_resolved(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    agent = await signed_in(client, workspace, "agent")
    cid = await new_matter(client, workspace, "Question")
    in_the_past = {"due_at": (clock.now() - timedelta(hours=1)).isoformat(), "note": "x"}
    refused = await wrap_up(client, agent, cid, "solved", "ok", in_the_past)
    assert refused.status_code == 422
    assert "future" in refused.json()["detail"]
    assert (await conversation(client, key(workspace), cid))["status"] == "open"
