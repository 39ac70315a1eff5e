"""SLA policies and clocks: the right deadline on business hours, warnings and breaches that
fire once at the right moment, pauses while the customer is asked, met or missed on reply."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import WorkspaceFixture, login
from tests.support.warsaw_time import warsaw
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.conversations.actions import change_status
from threadline.conversations.receive import receive_message
from threadline.conversations.replies import ReplyRequest, reply
from threadline.core.timers import fire_due_timers
from threadline.domain.channels import Channel, IdentityKind
from threadline.domain.conversations import ConversationStatus
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.domain.security.access import Principal, Role
from threadline.domain.service_levels.sla import ConversationFacts, PolicyRule, match_policy
from threadline.service_levels.defaults import seed_default_sla

pytestmark = pytest.mark.anyio


# -- policy matching (pure) --------------------------------------------------------------------


def _facts(
    channel: str = "email",
    priority: str = "normal",
    *,
    team_id: int | None = None,
    labels: Iterable[str] = (),
    tier: str | None = None,
) -> ConversationFacts:
    return ConversationFacts(
        channel=channel,
        priority=priority,
        team_id=team_id,
        customer_labels=frozenset(labels),
        customer_tier=tier,
    )


def test_policies_match_in_order_with_a_fallback() -> None:
    rules = [
        PolicyRule(1, 100, {}),  # fallback, though listed first
        PolicyRule(2, 20, {"channel": ["email"]}),
        PolicyRule(3, 10, {"channel": ["email"], "customer_tier": ["gold"]}),
        PolicyRule(4, 30, {"priority": ["urgent"], "team_id": [7]}),
        PolicyRule(5, 5, {"customer_label": ["vip", "press"]}),
    ]
    assert match_policy(rules, _facts()) == 2
    assert match_policy(rules, _facts(tier="gold")) == 3
    assert match_policy(rules, _facts(labels={"press"}, tier="gold")) == 5
    assert match_policy(rules, _facts("sms", "urgent", team_id=7)) == 4
    assert match_policy(rules, _facts("sms", "urgent", team_id=8)) == 1
    assert match_policy(rules[1:], _facts("sms")) is None


# -- helpers -----------------------------------------------------------------------------------


async def _seed(runtime: Runtime, ws: WorkspaceFixture) -> None:
    async with runtime.uow() as uow:
        assert await seed_default_sla(uow, ws.id)
        await uow.commit()


async def _customer_writes(
    runtime: Runtime, ws: WorkspaceFixture, channel: Channel, text: str = "Hello?"
) -> int:
    identity = (
        SenderIdentity(IdentityKind.EMAIL, "jan@example.pl")
        if channel is Channel.EMAIL
        else SenderIdentity(IdentityKind.WEB_VISITOR, "visitor-1")
    )
    received = await receive_message(
        runtime.uow,
        ws.id,
        InboundMessage(inbox_id=ws.inboxes[channel.value], sender=identity, text=text),
    )
    return received.conversation_id


async def _chat_under_default_sla(
    runtime: Runtime, ws: WorkspaceFixture, clock: ManualClock
) -> tuple[datetime, int]:
    """The default SLA seeded, then a visitor writing in by chat: (when, the conversation)."""
    await _seed(runtime, ws)
    start = clock.now()
    return start, await _customer_writes(runtime, ws, Channel.WEB_CHAT)


async def _clocks(runtime: Runtime, conversation_id: int) -> dict[str, t.SlaClock]:
    async with runtime.uow() as uow:
        rows = (
            await uow.session.execute(
                select(t.SlaClock)
                .where(t.SlaClock.conversation_id == conversation_id)
                .order_by(t.SlaClock.id)
            )
        ).scalars()
        clocks = {row.kind: row for row in rows}
        uow.session.expunge_all()  # detached with their values, not expired by the rollback
        return clocks


async def _events(runtime: Runtime, ws: WorkspaceFixture, type_: str) -> list[t.Event]:
    async with runtime.uow() as uow:
        rows = await uow.session.execute(
            select(t.Event).where(t.Event.workspace_id == ws.id, t.Event.type == type_)
        )
        events = list(rows.scalars())
        uow.session.expunge_all()
        return events


def _agent(ws: WorkspaceFixture) -> Principal:
    return Principal(workspace_id=ws.id, role=Role.AGENT, agent_id=ws.agent_id)


# -- deadlines on business hours ---------------------------------------------------------------


async def test_email_on_friday_at_16_warsaw_is_due_monday_at_14(
    runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    await _seed(runtime, workspace)
    clock.set(warsaw(2026, 11, 6, 16, 0))  # a Friday, the office has just closed
    conversation_id = await _customer_writes(runtime, workspace, Channel.EMAIL)

    first = (await _clocks(runtime, conversation_id))["first_response"]
    assert first.due_at == warsaw(2026, 11, 9, 14, 0)  # 08:00-14:00 on Monday
    assert first.target_seconds == 6 * 3600


async def test_after_a_polish_public_holiday_the_deadline_is_the_next_working_day(
    runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    await _seed(runtime, workspace)
    # Tuesday 10 Nov 2026 at closing time; Wednesday 11 Nov is Independence Day.
    clock.set(warsaw(2026, 11, 10, 16, 0))
    conversation_id = await _customer_writes(runtime, workspace, Channel.EMAIL)

    first = (await _clocks(runtime, conversation_id))["first_response"]
    assert first.due_at == warsaw(2026, 11, 12, 14, 0)


# -- timers: warning, breach, escalation -------------------------------------------------------


async def test_chat_warning_and_breach_fire_once_at_the_right_time_and_escalate(
    runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    start, conversation_id = await _chat_under_default_sla(runtime, workspace, clock)
    first = (await _clocks(runtime, conversation_id))["first_response"]
    assert first.due_at == start + timedelta(minutes=2)  # chat runs round the clock

    async def fire_at(seconds: float) -> None:
        clock.set(start + timedelta(seconds=seconds))
        await fire_due_timers(runtime.uow, clock.now())

    await fire_at(95)
    assert await _events(runtime, workspace, "sla.warning") == []
    await fire_at(96)  # 80 % of 2 minutes
    warnings = await _events(runtime, workspace, "sla.warning")
    assert len(warnings) == 1
    assert warnings[0].payload["clock"]["kind"] == "first_response"
    await fire_at(119)
    assert await _events(runtime, workspace, "sla.breached") == []
    await fire_at(120)
    await fire_at(180)
    await fire_at(3600)

    assert len(await _events(runtime, workspace, "sla.warning")) == 1
    breaches = await _events(runtime, workspace, "sla.breached")
    assert len(breaches) == 1
    assert breaches[0].payload["actions"] == ["notify_supervisor", "raise_priority"]
    notices = await _events(runtime, workspace, "sla.escalated")
    assert [n.payload["stage"] for n in notices] == ["warning", "breach"]
    assert workspace.supervisor_id in notices[0].payload["notify"]["agent_ids"]

    clocks = await _clocks(runtime, conversation_id)
    assert clocks["first_response"].warned_at == start + timedelta(seconds=96)
    assert clocks["first_response"].breached_at == start + timedelta(seconds=120)
    async with runtime.uow() as uow:
        conversation = await uow.session.get(t.Conversation, conversation_id)
        assert conversation is not None
        assert conversation.priority == "high"  # raised one step from normal

    # A late reply stops the clock as missed.
    async with runtime.uow() as uow:
        await reply(uow, _agent(workspace), ReplyRequest(conversation_id, "Sorry for the wait"))
        await uow.commit()
    assert (await _clocks(runtime, conversation_id))["first_response"].met is False


async def test_a_reply_in_time_stops_the_clock_as_met_and_nothing_fires_later(
    runtime: Runtime,
    workspace: WorkspaceFixture,
    clock: ManualClock,
    client: httpx.AsyncClient,
) -> None:
    start, conversation_id = await _chat_under_default_sla(runtime, workspace, clock)
    clock.advance(timedelta(seconds=45))
    async with runtime.uow() as uow:
        await reply(uow, _agent(workspace), ReplyRequest(conversation_id, "Hi! Looking now."))
        await uow.commit()
    clock.set(start + timedelta(hours=1))
    await fire_due_timers(runtime.uow, clock.now())
    assert await _events(runtime, workspace, "sla.warning") == []
    assert await _events(runtime, workspace, "sla.breached") == []

    # The customer writes again: a next-response clock starts.
    await _customer_writes(runtime, workspace, Channel.WEB_CHAT, "One more thing")
    clocks = await _clocks(runtime, conversation_id)
    assert clocks["next_response"].started_at == clock.now()

    headers = await login(client, workspace.slug, "agent")
    response = await client.get(f"/api/v1/conversations/{conversation_id}/sla", headers=headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["first_response"]["met"] is True
    assert report["first_response"]["elapsed_seconds"] == 45
    assert report["first_response"]["working_seconds"] == 45
    assert [r["state"] for r in report["responses"]] == ["met", "running"]


async def test_waiting_on_the_customer_pauses_the_clock_and_moves_the_deadline(
    runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    start, conversation_id = await _chat_under_default_sla(runtime, workspace, clock)
    clock.set(start + timedelta(seconds=60))
    async with runtime.uow() as uow:
        await change_status(uow, _agent(workspace), conversation_id, ConversationStatus.PENDING)
        await uow.commit()

    clock.set(start + timedelta(minutes=5))
    await fire_due_timers(runtime.uow, clock.now())
    assert await _events(runtime, workspace, "sla.breached") == []
    assert (await _clocks(runtime, conversation_id))["first_response"].paused_at is not None

    # The customer answers after 6 minutes on hold: the conversation re-opens and resumes.
    clock.set(start + timedelta(minutes=7))
    await _customer_writes(runtime, workspace, Channel.WEB_CHAT, "Here is my order number")
    first = (await _clocks(runtime, conversation_id))["first_response"]
    assert first.paused_at is None
    assert first.paused_seconds == 6 * 60
    assert first.due_at == start + timedelta(minutes=2 + 6)

    clock.set(first.due_at - timedelta(seconds=1))
    await fire_due_timers(runtime.uow, clock.now())
    assert await _events(runtime, workspace, "sla.breached") == []
    clock.set(first.due_at)
    await fire_due_timers(runtime.uow, clock.now())
    assert len(await _events(runtime, workspace, "sla.breached")) == 1


# -- admin -------------------------------------------------------------------------------------


async def test_changing_a_calendar_moves_running_deadlines(
    runtime: Runtime,
    workspace: WorkspaceFixture,
    clock: ManualClock,
    client: httpx.AsyncClient,
) -> None:
    await _seed(runtime, workspace)
    clock.set(warsaw(2026, 11, 6, 16, 0))
    conversation_id = await _customer_writes(runtime, workspace, Channel.EMAIL)
    admin = await login(client, workspace.slug, "admin")
    calendars = (await client.get("/api/v1/sla/calendars", headers=admin)).json()
    office = next(c for c in calendars if c["name"] == "Office hours (Warsaw)")

    # Saturday mornings become working time: 6 hours from Friday 16:00 end Saturday 14:00.
    weekly = {**office["weekly"], "5": [["08:00", "16:00"]]}
    response = await client.patch(
        f"/api/v1/sla/calendars/{office['id']}", json={"weekly": weekly}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert response.json()["deadlines_moved"] == 1
    first = (await _clocks(runtime, conversation_id))["first_response"]
    assert first.due_at == warsaw(2026, 11, 7, 14, 0)
    async with runtime.uow() as uow:
        timer = (
            await uow.session.execute(
                select(t.Timer).where(t.Timer.key == f"sla.breach:{first.id}")
            )
        ).scalar_one()
        assert timer.fire_at == warsaw(2026, 11, 7, 14, 0)
        warning = (
            await uow.session.execute(
                select(t.Timer).where(t.Timer.key == f"sla.warning:{first.id}")
            )
        ).scalar_one()
        # 80 % of 6 hours = 4 h 48 min of Saturday's working time.
        assert warning.fire_at == warsaw(2026, 11, 7, 12, 48)


async def test_policies_are_managed_by_admins_only(
    runtime: Runtime, workspace: WorkspaceFixture, client: httpx.AsyncClient
) -> None:
    admin = await login(client, workspace.slug, "admin")
    agent = await login(client, workspace.slug, "agent")
    body = {
        "name": "VIP email",
        "position": 1,
        "conditions": {"channel": ["email"], "customer_label": ["vip"]},
        "first_response_seconds": 3600,
        "escalation": {"breach": ["reroute"]},
    }
    assert (await client.post("/api/v1/sla/policies", json=body, headers=agent)).status_code == 403
    created = await client.post("/api/v1/sla/policies", json=body, headers=admin)
    assert created.status_code == 201, created.text
    policy_id = created.json()["id"]
    bad = await client.patch(
        f"/api/v1/sla/policies/{policy_id}",
        json={"escalation": {"breach": ["call_the_ceo"]}},
        headers=admin,
    )
    assert bad.status_code == 422, bad.text
    assert "call_the_ceo" in bad.text
    patched = await client.patch(
        f"/api/v1/sla/policies/{policy_id}", json={"first_response_seconds": 1800}, headers=admin
    )
    assert patched.json()["first_response_seconds"] == 1800
    listed = (await client.get("/api/v1/sla/policies", headers=admin)).json()
    assert [p["name"] for p in listed] == ["VIP email"]
    async with runtime.uow() as uow:
        count = await uow.session.execute(select(func.count()).select_from(t.SlaPolicy))
        assert count.scalar_one() == 1


async def test_a_missed_call_must_be_returned_within_an_hour_an_answered_one_is_met(
    runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    await _seed(runtime, workspace)
    start = clock.now()

    async def call(number: str, outcome: str) -> int:
        received = await receive_message(
            runtime.uow,
            workspace.id,
            InboundMessage(
                inbox_id=workspace.inboxes["voice"],
                sender=SenderIdentity(IdentityKind.PHONE, number),
                channel=Channel.VOICE,
                call={"direction": "inbound", "outcome": outcome, "from": number},
            ),
        )
        return received.conversation_id

    missed = (await _clocks(runtime, await call("+48221234567", "missed")))["first_response"]
    assert missed.due_at == start + timedelta(hours=1)
    assert missed.stopped_at is None
    answered = (await _clocks(runtime, await call("+48227654321", "answered")))["first_response"]
    assert (answered.met, answered.elapsed_seconds) == (True, 0)
