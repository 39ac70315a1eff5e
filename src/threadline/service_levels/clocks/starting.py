"""Starting clocks: the policy that applies to a conversation, and the clocks a customer's
message starts (a first- or next-response clock unless one runs, and a resolution clock)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from threadline.adapters.db import tables as t
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.service_levels.business_calendar import BusinessCalendar
from threadline.domain.service_levels.sla import (
    RESPONSE_KINDS,
    ClockKind,
    ConversationFacts,
    PolicyRule,
    due_at,
    match_policy,
    start_clock,
)
from threadline.service_levels.clocks.business_calendars import build_calendar
from threadline.service_levels.clocks.rows import WAITING_ON_CUSTOMER, open_clocks
from threadline.service_levels.clocks.timers import arm_clock


async def _facts(uow: UnitOfWork, conversation: t.Conversation, channel: str) -> ConversationFacts:
    customer = await uow.session.get(t.Customer, conversation.customer_id)
    labels = frozenset(customer.labels) if customer is not None else frozenset()
    tier = customer.attributes.get("tier") if customer is not None else None
    return ConversationFacts(
        channel=channel,
        priority=conversation.priority,
        team_id=conversation.team_id,
        customer_labels=labels,
        customer_tier=str(tier) if tier is not None else None,
    )


async def matching_policy(
    uow: UnitOfWork, conversation: t.Conversation, channel: str
) -> t.SlaPolicy | None:
    policies = list(
        (
            await uow.session.execute(
                select(t.SlaPolicy).where(
                    t.SlaPolicy.workspace_id == conversation.workspace_id,
                    t.SlaPolicy.active.is_(True),
                )
            )
        ).scalars()
    )
    if not policies:
        return None
    rules = [PolicyRule(p.id, p.position, p.conditions) for p in policies]
    chosen = match_policy(rules, await _facts(uow, conversation, channel))
    return next((p for p in policies if p.id == chosen), None)


def _target_seconds(policy: t.SlaPolicy, kind: ClockKind) -> int | None:
    if kind is ClockKind.FIRST_RESPONSE:
        return policy.first_response_seconds
    if kind is ClockKind.NEXT_RESPONSE:
        return policy.next_response_seconds
    return policy.resolution_seconds


async def _start(
    uow: UnitOfWork,
    conversation: t.Conversation,
    policy: t.SlaPolicy,
    kind: ClockKind,
    now: datetime,
) -> None:
    target = _target_seconds(policy, kind)
    if not target:
        return
    calendar_row = (
        await uow.session.get(t.BusinessCalendarRow, policy.calendar_id)
        if policy.calendar_id is not None
        else None
    )
    calendar = (
        build_calendar(calendar_row, now)
        if calendar_row is not None
        else BusinessCalendar.twenty_four_seven()
    )
    state = start_clock(now, timedelta(seconds=target))
    clock = t.SlaClock(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        kind=kind.value,
        policy_id=policy.id,
        calendar_id=calendar_row.id if calendar_row is not None else None,
        target_seconds=target,
        warning_ratio=policy.warning_ratio,
        started_at=now,
        due_at=due_at(state, calendar),
        paused_seconds=0.0,
    )
    uow.session.add(clock)
    await uow.session.flush()
    if conversation.status in WAITING_ON_CUSTOMER:
        clock.paused_at = now
        return
    await arm_clock(uow, clock, calendar)


async def start_clocks_for_customer(
    uow: UnitOfWork, conversation: t.Conversation, channel: str, now: datetime
) -> None:
    """The customer wrote: the clocks their message starts, under the policy that applies."""
    running = await open_clocks(uow, conversation.id)
    running_kinds = {ClockKind(clock.kind) for clock in running}
    policy = await matching_policy(uow, conversation, channel)
    if policy is None:
        return
    if not running_kinds & RESPONSE_KINDS:
        had_first = (
            await uow.session.execute(
                select(t.SlaClock.id)
                .where(
                    t.SlaClock.conversation_id == conversation.id,
                    t.SlaClock.kind == ClockKind.FIRST_RESPONSE.value,
                )
                .limit(1)
            )
        ).first() is not None
        kind = ClockKind.NEXT_RESPONSE if had_first else ClockKind.FIRST_RESPONSE
        await _start(uow, conversation, policy, kind, now)
    if ClockKind.RESOLUTION not in running_kinds:
        await _start(uow, conversation, policy, ClockKind.RESOLUTION, now)
