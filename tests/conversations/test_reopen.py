"""Re-opening, written once: whichever way a resolved matter comes back (the customer writes
again, an agent replies, a follow-up falls due, an agent sets it open), its old wrap-up is
cleared from the conversation, kept in the timeline, and the same events say so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import WorkspaceFixture, customer_writes
from tests.support.conversations_api import last_seq, signed_in, timeline, wrap_up
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.core.timers import fire_due_timers
from threadline.domain.conversations import (
    ConversationStatus,
    Lifecycle,
    ReopenCause,
    reopen,
)

pytestmark = pytest.mark.anyio

SUMMARY = "Refund sent on Monday; gave the reference RF-118."
EARLIER = f"Earlier wrap-up: solved \u2014 {SUMMARY}"


def key(ws: WorkspaceFixture) -> dict[str, str]:
    return {"X-API-Key": ws.api_key}


async def resolved_matter(
    client: httpx.AsyncClient, ws: WorkspaceFixture, agent: dict[str, str], **follow_up: Any
) -> int:
    received = await customer_writes(client, ws, "email", "email", "jan@example.com", "Refund?")
    cid = int(received["conversation_id"])
    wrapped = await wrap_up(client, agent, cid, "solved", SUMMARY, follow_up or None)
    assert wrapped.status_code == 200, wrapped.text
    assert wrapped.json()["conversation"]["wrap_up_code"] == "solved"
    return cid


async def resolved_an_hour_ago(
    client: httpx.AsyncClient,
    runtime: Runtime,
    clock: ManualClock,
    ws: WorkspaceFixture,
    agent: dict[str, str],
) -> tuple[int, int]:
    """A matter resolved an hour ago, and the event sequence number now."""
    cid = await resolved_matter(client, ws, agent)
    clock.advance(timedelta(hours=1))
    return cid, await last_seq(runtime, ws)


async def events_since(runtime: Runtime, ws: WorkspaceFixture, seq: int) -> list[t.Event]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(t.Event)
            .where(t.Event.workspace_id == ws.id, t.Event.seq > seq)
            .order_by(t.Event.seq)
        )
        return list(rows.scalars())


async def assert_reopened(
    client: httpx.AsyncClient,
    runtime: Runtime,
    ws: WorkspaceFixture,
    cid: int,
    since: int,
    cause: ReopenCause,
    sentence: str,
) -> None:
    """Open, wrap-up cleared; the timeline keeps it; the events say the same on every path."""
    shown = (await client.get(f"/api/v1/conversations/{cid}", headers=key(ws))).json()
    assert shown["status"] == "open" and shown["resolved_at"] is None
    assert (shown["wrap_up_code"], shown["wrap_up_summary"]) == (None, None)

    entries = [m for m in await timeline(client, key(ws), cid) if (m["meta"] or {}).get("reopened")]
    assert [m["text"] for m in entries] == [f"Re-opened: {sentence}. {EARLIER}"]
    assert entries[0]["direction"] == "system"
    kept = entries[0]["meta"]["reopened"]
    assert (kept["cause"], kept["previous_status"]) == (cause.value, "resolved")
    assert (kept["wrap_up"]["code"], kept["wrap_up"]["summary"]) == ("solved", SUMMARY)

    events = await events_since(runtime, ws, since)
    updates = [e.payload for e in events if e.type == "conversation.updated"]
    reopened = [p for p in updates if "reopened" in p]
    assert len(reopened) == 1, updates
    assert reopened[0]["reopened"] == kept
    assert reopened[0]["status_changed"] is True
    assert reopened[0]["conversation"]["wrap_up_code"] is None
    created = [e.payload["message"]["id"] for e in events if e.type == "message.created"]
    assert entries[0]["id"] in created


async def test_the_customer_writing_again_keeps_the_old_wrap_up_in_the_timeline(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    agent = await signed_in(client, workspace, "agent")
    cid, since = await resolved_an_hour_ago(client, runtime, clock, workspace, agent)

    again = await customer_writes(
        client, workspace, "email", "email", "jan@example.com", "It has not arrived"
    )

    assert again["conversation_id"] == cid
    await assert_reopened(
        client,
        runtime,
        workspace,
        cid,
        since,
        ReopenCause.CUSTOMER_WROTE,
        "the customer wrote again",
    )
    # The record of the re-opening comes before the message that caused it.
    texts = [m["text"] for m in await timeline(client, key(workspace), cid)]
    assert texts[-2:] == [f"Re-opened: the customer wrote again. {EARLIER}", "It has not arrived"]


async def test_an_agent_replying_to_a_resolved_matter_clears_its_wrap_up(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    agent = await signed_in(client, workspace, "agent")
    cid, since = await resolved_an_hour_ago(client, runtime, clock, workspace, agent)

    sent = await client.post(
        f"/api/v1/conversations/{cid}/replies",
        json={"text": "One more thing: the refund reference is RF-118."},
        headers=agent,
    )

    assert sent.status_code == 201, sent.text
    await assert_reopened(
        client, runtime, workspace, cid, since, ReopenCause.AGENT_REPLIED, "an agent replied"
    )
    entry = next(
        m for m in await timeline(client, key(workspace), cid) if m["direction"] == "system"
    )
    assert entry["author_agent_id"] == workspace.agent_id


async def test_a_follow_up_falling_due_keeps_the_old_wrap_up_in_the_timeline(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    agent = await signed_in(client, workspace, "agent")
    due = clock.now() + timedelta(hours=2)
    cid = await resolved_matter(
        client, workspace, agent, due_at=due.isoformat(), note="check the refund arrived"
    )
    since = await last_seq(runtime, workspace)

    clock.set(due)
    assert await fire_due_timers(runtime.uow, clock.now()) >= 1

    await assert_reopened(
        client, runtime, workspace, cid, since, ReopenCause.FOLLOW_UP_DUE, "a follow-up fell due"
    )


async def test_an_agent_setting_the_status_open_keeps_the_old_wrap_up_in_the_timeline(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    agent = await signed_in(client, workspace, "agent")
    cid = await resolved_matter(client, workspace, agent)
    since = await last_seq(runtime, workspace)

    opened = await client.post(
        f"/api/v1/conversations/{cid}/status", json={"status": "open"}, headers=agent
    )

    assert opened.status_code == 200, opened.text
    await assert_reopened(
        client,
        runtime,
        workspace,
        cid,
        since,
        ReopenCause.STATUS_CHANGED,
        "an agent changed the status",
    )


async def test_the_customer_writing_to_a_snoozed_matter_wakes_it_and_drops_the_snooze(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    agent = await signed_in(client, workspace, "agent")
    received = await customer_writes(client, workspace, "sms", "phone", "+48601234567", "Hi")
    cid = received["conversation_id"]
    until = clock.now() + timedelta(days=2)
    snoozed = await client.post(
        f"/api/v1/conversations/{cid}/status",
        json={"status": "snoozed", "snoozed_until": until.isoformat()},
        headers=agent,
    )
    assert snoozed.json()["attributes"]["snoozed_until"] == until.isoformat()
    clock.advance(timedelta(hours=1))

    await customer_writes(client, workspace, "sms", "phone", "+48601234567", "Any news?")

    shown = (await client.get(f"/api/v1/conversations/{cid}", headers=key(workspace))).json()
    assert shown["status"] == "open"
    # Woken by the customer, not by the clock: no stale wake-up time is left behind.
    assert "snoozed_until" not in shown["attributes"]
    # Nothing was resolved, so nothing is recorded as re-opened.
    assert [m["direction"] for m in await timeline(client, key(workspace), cid)] == [
        "inbound",
        "inbound",
    ]


NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_the_transition_clears_the_round_that_ended_and_keeps_it_as_before() -> None:
    resolved = Lifecycle(
        status=ConversationStatus.RESOLVED,
        resolved_at=NOW,
        wrap_up_code="solved",
        wrap_up_summary=SUMMARY,
        attributes={"language": "pl"},
    )
    reopening = reopen(resolved, ReopenCause.CUSTOMER_WROTE)
    assert reopening is not None
    assert reopening.after == Lifecycle(
        ConversationStatus.OPEN, None, None, None, {"language": "pl"}
    )
    assert reopening.before == resolved and reopening.had_wrap_up
    # An agent may re-open straight into "pending" (waiting on the customer).
    pending = reopen(resolved, ReopenCause.STATUS_CHANGED, to=ConversationStatus.PENDING)
    assert pending is not None and pending.after.status is ConversationStatus.PENDING

    snoozed = Lifecycle(ConversationStatus.SNOOZED, None, None, None, {"snoozed_until": "x"})
    woken = reopen(snoozed, ReopenCause.CUSTOMER_WROTE)
    assert woken is not None and woken.after.attributes == {} and not woken.was_resolved
    # Nothing to re-open: already open, or from snoozed to pending.
    assert reopen(woken.after, ReopenCause.CUSTOMER_WROTE) is None
    assert reopen(snoozed, ReopenCause.STATUS_CHANGED, to=ConversationStatus.PENDING) is None
