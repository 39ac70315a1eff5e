"""SLA clocks kept in step with conversations, inside the transaction of each change.

Event handlers (core/handlers.py) start, pause, resume and stop clocks:
- an inbound message from the customer (not an automated one) starts a first-response clock
  (or a next-response clock after the first) unless one is running, and a resolution clock;
- an agent's reply stops the response clocks, recording met or missed;
- pending / snoozed pause every clock (the matter waits on the customer), open resumes
  them with the deadline pushed out by the working time spent waiting, resolved stops them.
Each running clock has two durable timers (core/timers.py): "sla.warning" at the
policy's warning ratio of the target and "sla.breach" at the deadline. Their handlers mark
the clock once (warned_at / breached_at), emit sla.warning / sla.breached and run the
policy's escalation actions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from threadline.adapters.db import tables as t
from threadline.core.handlers import HandlerMap, on
from threadline.core.timers import TimerHandlerMap, cancel_timer, schedule_timer
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import conversation_scope, conversation_view, iso
from threadline.domain.conversations import ConversationStatus
from threadline.domain.events import (
    ConversationUpdated,
    MessageCreated,
    MessageUpdated,
    SlaBreached,
    SlaEscalated,
    SlaWarning,
)
from threadline.domain.security.access import Role
from threadline.domain.service_levels.business_calendar import (
    BusinessCalendar,
    InvalidCalendar,
    holidays_for,
)
from threadline.domain.service_levels.sla import (
    RESPONSE_KINDS,
    ClockKind,
    ClockState,
    ConversationFacts,
    EscalationAction,
    PolicyRule,
    due_at,
    match_policy,
    pause_clock,
    raised_priority,
    resume_clock,
    start_clock,
    stop_clock,
    warning_at,
)

WARNING_TIMER = "sla.warning"
BREACH_TIMER = "sla.breach"
WAITING_ON_CUSTOMER = frozenset(
    {ConversationStatus.PENDING.value, ConversationStatus.SNOOZED.value}
)

# -- calendars ---------------------------------------------------------------------------------

_calendar_cache: dict[tuple[Any, ...], BusinessCalendar] = {}
_CALENDAR_CACHE_LIMIT = 256


def _parse_time(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError as error:
        raise InvalidCalendar(f"working hours are HH:MM, got {text!r}") from error


def parse_weekly(weekly: dict[str, Any]) -> dict[int, list[tuple[time, time]]]:
    """{"0": [["08:00", "16:00"]], ...} (0 = Monday) as the domain calendar wants it."""
    parsed: dict[int, list[tuple[time, time]]] = {}
    for day, ranges in weekly.items():
        try:
            weekday = int(day)
        except ValueError as error:
            raise InvalidCalendar(
                f"weekday keys are 0 (Monday) .. 6 (Sunday), got {day!r}"
            ) from error
        if not isinstance(ranges, list):
            raise InvalidCalendar("each weekday holds a list of [start, end] ranges")
        pairs: list[tuple[time, time]] = []
        for item in ranges:
            if not isinstance(item, list | tuple) or len(item) != 2:
                raise InvalidCalendar("a working range is [start, end], e.g. ['08:00', '16:00']")
            pairs.append((_parse_time(str(item[0])), _parse_time(str(item[1]))))
        parsed[weekday] = pairs
    return parsed


def build_calendar(row: t.BusinessCalendarRow, around: datetime) -> BusinessCalendar:
    """The domain calendar of a stored one, with public holidays of the years around `around`."""
    # Keyed by content, not id: an edited calendar is a different calendar.
    key = (
        row.timezone,
        repr(sorted(row.weekly.items())),
        row.holiday_country,
        row.holiday_subdivision,
        tuple(row.custom_holidays),
        row.always_open,
        around.year,
    )
    cached = _calendar_cache.get(key)
    if cached is not None:
        return cached
    if row.always_open:
        calendar = BusinessCalendar.twenty_four_seven(row.timezone)
    else:
        closed: set[Any] = set()
        if row.holiday_country:
            years = range(around.year - 1, around.year + 4)
            closed |= holidays_for(row.holiday_country, row.holiday_subdivision, years)
        for text in row.custom_holidays:
            closed.add(_parse_date(text))
        calendar = BusinessCalendar.build(row.timezone, parse_weekly(row.weekly), closed)
    if len(_calendar_cache) >= _CALENDAR_CACHE_LIMIT:
        _calendar_cache.clear()
    _calendar_cache[key] = calendar
    return calendar


def _parse_date(text: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise InvalidCalendar(f"holiday dates are YYYY-MM-DD, got {text!r}") from error


async def clock_calendar(uow: UnitOfWork, clock: t.SlaClock) -> BusinessCalendar:
    if clock.calendar_id is None:
        return BusinessCalendar.twenty_four_seven()
    row = await uow.session.get(t.BusinessCalendarRow, clock.calendar_id)
    if row is None:
        return BusinessCalendar.twenty_four_seven()
    return build_calendar(row, clock.started_at)


# -- clock state <-> rows ----------------------------------------------------------------------


def stored_state(clock: t.SlaClock) -> ClockState:
    return ClockState(
        started_at=clock.started_at,
        target=timedelta(seconds=clock.target_seconds),
        paused_at=clock.paused_at,
        paused=timedelta(seconds=clock.paused_seconds),
        stopped_at=clock.stopped_at,
    )


def _store(clock: t.SlaClock, state: ClockState, calendar: BusinessCalendar) -> None:
    clock.paused_at = state.paused_at
    clock.paused_seconds = state.paused.total_seconds()
    clock.stopped_at = state.stopped_at
    clock.due_at = due_at(state, calendar)


def _timer_key(clock: t.SlaClock, kind: str) -> str:
    return f"sla:{clock.id}:{kind.removeprefix('sla.')}"


async def arm_clock(uow: UnitOfWork, clock: t.SlaClock, calendar: BusinessCalendar) -> None:
    """(Re-)arm the warning and breach timers of a running clock at its current times."""
    state = stored_state(clock)
    payload = {"clock_id": clock.id}
    if clock.warned_at is None and clock.warning_ratio < 1:
        await schedule_timer(
            uow,
            clock.workspace_id,
            kind=WARNING_TIMER,
            key=_timer_key(clock, WARNING_TIMER),
            fire_at=warning_at(state, calendar, clock.warning_ratio),
            payload=payload,
        )
    if clock.breached_at is None:
        await schedule_timer(
            uow,
            clock.workspace_id,
            kind=BREACH_TIMER,
            key=_timer_key(clock, BREACH_TIMER),
            fire_at=clock.due_at,
            payload=payload,
        )


async def disarm_clock(uow: UnitOfWork, clock: t.SlaClock) -> None:
    for kind in (WARNING_TIMER, BREACH_TIMER):
        await cancel_timer(uow, clock.workspace_id, _timer_key(clock, kind))


async def _open_clocks(
    uow: UnitOfWork, conversation_id: int, kinds: Sequence[ClockKind] | None = None
) -> list[t.SlaClock]:
    query = (
        select(t.SlaClock)
        .where(t.SlaClock.conversation_id == conversation_id, t.SlaClock.stopped_at.is_(None))
        .order_by(t.SlaClock.id)
        .with_for_update()
    )
    if kinds is not None:
        query = query.where(t.SlaClock.kind.in_([kind.value for kind in kinds]))
    return list((await uow.session.execute(query)).scalars())


# -- starting clocks ---------------------------------------------------------------------------


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


async def _on_customer_message(
    uow: UnitOfWork, conversation: t.Conversation, channel: str, now: datetime
) -> None:
    running = await _open_clocks(uow, conversation.id)
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


# -- pausing, resuming and stopping ------------------------------------------------------------


async def _stop(uow: UnitOfWork, clock: t.SlaClock, now: datetime, *, counts: bool = True) -> None:
    """Stop and record the measurement; `counts=False` for a clock that no longer applies
    (a conversation resolved without a reply): met only says "missed" if it had breached."""
    calendar = await clock_calendar(uow, clock)
    outcome = stop_clock(stored_state(clock), now, calendar)
    clock.paused_at = None
    clock.paused_seconds = outcome.state.paused.total_seconds()
    clock.stopped_at = now
    clock.elapsed_seconds = outcome.elapsed.total_seconds()
    clock.working_seconds = outcome.working.total_seconds()
    if counts:
        clock.met = outcome.met and clock.breached_at is None
    else:
        clock.met = False if clock.breached_at is not None else None
    await disarm_clock(uow, clock)


async def _sync_with_status(uow: UnitOfWork, conversation: t.Conversation, now: datetime) -> None:
    status = conversation.status
    clocks = await _open_clocks(uow, conversation.id)
    for clock in clocks:
        if status == ConversationStatus.RESOLVED.value:
            await _stop(uow, clock, now, counts=clock.kind == ClockKind.RESOLUTION.value)
        elif status in WAITING_ON_CUSTOMER and clock.paused_at is None:
            clock.paused_at = pause_clock(stored_state(clock), now).paused_at
            await disarm_clock(uow, clock)
        elif status == ConversationStatus.OPEN.value and clock.paused_at is not None:
            calendar = await clock_calendar(uow, clock)
            _store(clock, resume_clock(stored_state(clock), now, calendar), calendar)
            await arm_clock(uow, clock, calendar)


# -- event handlers ----------------------------------------------------------------------------


async def on_message_created(uow: UnitOfWork, workspace_id: int, event: MessageCreated) -> None:
    conversation_id = event.conversation_id
    if conversation_id is None:
        return
    is_customer = event.from_customer
    is_agent_reply = event.agent_reply or event.answered_call
    if not (is_customer or is_agent_reply):
        return
    conversation = await uow.session.get(t.Conversation, conversation_id)
    if conversation is None or conversation.workspace_id != workspace_id:
        return
    now = uow.clock.now()
    if is_customer:
        await _on_customer_message(uow, conversation, event.channel, now)
        if not event.answered_call:
            return
    await _stop_responses(uow, conversation.id, now)


async def on_message_updated(uow: UnitOfWork, workspace_id: int, event: MessageUpdated) -> None:
    """A call that an agent picked up answers the customer, whichever way it went."""
    if event.conversation_id is None or not event.answered_call:
        return
    conversation = await uow.session.get(t.Conversation, event.conversation_id)
    if conversation is None or conversation.workspace_id != workspace_id:
        return
    await _stop_responses(uow, conversation.id, uow.clock.now())


async def _stop_responses(uow: UnitOfWork, conversation_id: int, now: datetime) -> None:
    for clock in await _open_clocks(uow, conversation_id, sorted(RESPONSE_KINDS)):
        await _stop(uow, clock, now)


async def on_conversation_changed(
    uow: UnitOfWork, workspace_id: int, event: ConversationUpdated
) -> None:
    if event.conversation_id is None:
        return
    if event.status_changed is False:
        return  # only a change of status pauses, resumes or stops clocks
    conversation = await uow.session.get(t.Conversation, event.conversation_id)
    if conversation is None or conversation.workspace_id != workspace_id:
        return
    await _sync_with_status(uow, conversation, uow.clock.now())


# -- timers: warning and breach ----------------------------------------------------------------


async def _locked_clock(
    uow: UnitOfWork, workspace_id: int, payload: dict[str, Any]
) -> t.SlaClock | None:
    clock_id = payload.get("clock_id")
    if not isinstance(clock_id, int):
        return None
    return (
        await uow.session.execute(
            select(t.SlaClock)
            .where(t.SlaClock.id == clock_id, t.SlaClock.workspace_id == workspace_id)
            .with_for_update()
        )
    ).scalar_one_or_none()


async def on_warning_due(
    uow: UnitOfWork, workspace_id: int, payload: dict[str, Any], fired_at: datetime
) -> None:
    clock = await _locked_clock(uow, workspace_id, payload)
    if clock is None or clock.stopped_at or clock.paused_at or clock.warned_at:
        return
    clock.warned_at = fired_at
    await _escalate(uow, clock, "warning", SlaWarning)


async def on_breach_due(
    uow: UnitOfWork, workspace_id: int, payload: dict[str, Any], fired_at: datetime
) -> None:
    clock = await _locked_clock(uow, workspace_id, payload)
    if clock is None or clock.stopped_at or clock.paused_at or clock.breached_at:
        return
    # The breach happened at the deadline, even if a worker was down and fires it late.
    clock.breached_at = min(fired_at, clock.due_at)
    await _escalate(uow, clock, "breach", SlaBreached)


async def _escalate(
    uow: UnitOfWork,
    clock: t.SlaClock,
    stage: str,
    stage_reached: type[SlaWarning] | type[SlaBreached],
) -> None:
    session = uow.session
    conversation = (
        await session.execute(
            select(t.Conversation)
            .where(t.Conversation.id == clock.conversation_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if conversation is None:
        return
    policy = await session.get(t.SlaPolicy, clock.policy_id) if clock.policy_id else None
    actions: list[str] = list((policy.escalation if policy else {}).get(stage, []))
    uow.emit(
        clock.workspace_id,
        stage_reached(
            clock=clock_view(clock),
            policy=policy.name if policy else None,
            actions=actions,
            conversation=conversation_scope(conversation),
        ),
    )
    changed = False
    for action in actions:
        if action == EscalationAction.NOTIFY_SUPERVISOR.value:
            await _notify_supervisors(uow, clock, conversation, stage)
        elif action == EscalationAction.RAISE_PRIORITY.value:
            raised = raised_priority(conversation.priority)
            changed = changed or raised != conversation.priority
            conversation.priority = raised
        elif action == EscalationAction.REROUTE.value and conversation.assignee_id is not None:
            # Back to the team's queue, so routing offers it to someone available.
            conversation.assignee_id = None
            changed = True
    if changed:
        await session.flush()
        uow.emit(
            conversation.workspace_id,
            ConversationUpdated(conversation_view(conversation), reason=f"sla.{stage}"),
        )


async def _notify_supervisors(
    uow: UnitOfWork, clock: t.SlaClock, conversation: t.Conversation, stage: str
) -> None:
    supervisors = (
        await uow.session.execute(
            select(t.Agent.id)
            .where(
                t.Agent.workspace_id == clock.workspace_id,
                t.Agent.active.is_(True),
                t.Agent.role.in_([Role.SUPERVISOR.value, Role.ADMIN.value]),
            )
            .order_by(t.Agent.id)
        )
    ).scalars()
    uow.emit(
        clock.workspace_id,
        SlaEscalated(
            action=EscalationAction.NOTIFY_SUPERVISOR.value,
            stage=stage,
            notify_roles=[Role.SUPERVISOR.value, Role.ADMIN.value],
            notify_agent_ids=list(supervisors),
            clock=clock_view(clock),
            conversation=conversation_scope(conversation),
        ),
    )


# -- views -------------------------------------------------------------------------------------


def clock_view(clock: t.SlaClock) -> dict[str, Any]:
    return {
        "id": clock.id,
        "kind": clock.kind,
        "policy_id": clock.policy_id,
        "calendar_id": clock.calendar_id,
        "target_seconds": clock.target_seconds,
        "started_at": iso(clock.started_at),
        "due_at": iso(clock.due_at),
        "paused_at": iso(clock.paused_at),
        "paused_working_seconds": clock.paused_seconds,
        "stopped_at": iso(clock.stopped_at),
        "warned_at": iso(clock.warned_at),
        "breached_at": iso(clock.breached_at),
        "met": clock.met,
        "elapsed_seconds": clock.elapsed_seconds,
        "working_seconds": clock.working_seconds,
        "state": _clock_state(clock),
    }


# Every state `_clock_state` can give a clock's view (pages translate each: sla.state_*).
CLOCK_STATES = ("running", "paused", "breached", "met", "missed", "cancelled")


def _clock_state(clock: t.SlaClock) -> str:
    if clock.stopped_at is not None:
        if clock.met is None:
            return "cancelled"
        return "met" if clock.met else "missed"
    if clock.paused_at is not None:
        return "paused"
    return "breached" if clock.breached_at is not None else "running"


# Nothing for conversation.created: a new matter has no clocks yet, its first message starts
# them.
EVENT_HANDLERS: HandlerMap = (
    on(MessageCreated, on_message_created),
    on(MessageUpdated, on_message_updated),
    on(ConversationUpdated, on_conversation_changed),
)

TIMER_HANDLERS: TimerHandlerMap = {
    WARNING_TIMER: on_warning_due,
    BREACH_TIMER: on_breach_due,
}
