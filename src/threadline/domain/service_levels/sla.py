"""SLA rules: which policy applies to a conversation, and when a clock is due.

A clock measures one target (first response, next response, resolution) in working time of a
business calendar. While the conversation waits on the customer (pending, snoozed) the clock
is paused; the working time spent paused is added to the target, so the deadline moves out
by exactly that much. Everything here is pure: the service layer stores the state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from threadline.domain.conversations import Priority
from threadline.domain.errors import DomainError
from threadline.domain.service_levels.business_calendar import BusinessCalendar


class ClockKind(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


RESPONSE_KINDS = frozenset({ClockKind.FIRST_RESPONSE, ClockKind.NEXT_RESPONSE})


class EscalationAction(StrEnum):
    NOTIFY_SUPERVISOR = "notify_supervisor"
    RAISE_PRIORITY = "raise_priority"
    REROUTE = "reroute"


ESCALATION_STAGES = ("warning", "breach")

# Condition keys a policy may use, each a list of accepted values (any of them matches).
CONDITION_KEYS = frozenset({"channel", "priority", "team_id", "customer_label", "customer_tier"})

PRIORITY_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]


class InvalidPolicy(DomainError):
    title = "Invalid SLA policy"


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    """What policy conditions look at."""

    channel: str
    priority: str
    team_id: int | None
    customer_labels: frozenset[str]
    customer_tier: str | None


@dataclass(frozen=True, slots=True)
class PolicyRule:
    id: int
    position: int
    conditions: Mapping[str, Sequence[Any]]

    @property
    def is_fallback(self) -> bool:
        return not any(self.conditions.values())

    def matches(self, facts: ConversationFacts) -> bool:
        for key, accepted in self.conditions.items():
            if not accepted:
                continue
            if key == "channel" and facts.channel not in accepted:
                return False
            if key == "priority" and facts.priority not in accepted:
                return False
            if key == "team_id" and facts.team_id not in accepted:
                return False
            if key == "customer_label" and not facts.customer_labels.intersection(accepted):
                return False
            if key == "customer_tier" and facts.customer_tier not in accepted:
                return False
        return True


def match_policy(rules: Iterable[PolicyRule], facts: ConversationFacts) -> int | None:
    """The first policy (by position, then id) whose conditions all hold; fallback policies
    (no conditions) only when no specific one matches."""
    ordered = sorted(rules, key=lambda rule: (rule.is_fallback, rule.position, rule.id))
    for rule in ordered:
        if rule.matches(facts):
            return rule.id
    return None


def normalise_conditions(raw: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Conditions as stored: known keys only, each a list (a single value is accepted too)."""
    unknown = set(raw) - CONDITION_KEYS
    if unknown:
        raise InvalidPolicy(
            f"unknown policy condition {sorted(unknown)[0]!r}; "
            f"use {', '.join(sorted(CONDITION_KEYS))}"
        )
    conditions: dict[str, list[Any]] = {}
    for key, value in raw.items():
        values = list(value) if isinstance(value, list | tuple | set) else [value]
        if key == "team_id" and not all(isinstance(v, int) for v in values):
            raise InvalidPolicy("team_id conditions are team ids (integers)")
        if key != "team_id" and not all(isinstance(v, str) for v in values):
            raise InvalidPolicy(f"{key} conditions are strings")
        if values:
            conditions[key] = values
    return conditions


def normalise_escalation(raw: Mapping[str, Any]) -> dict[str, list[str]]:
    escalation: dict[str, list[str]] = {}
    for stage, actions in raw.items():
        if stage not in ESCALATION_STAGES:
            raise InvalidPolicy(f"escalation stage must be 'warning' or 'breach', not {stage!r}")
        if not isinstance(actions, list):
            raise InvalidPolicy("escalation actions are a list, e.g. ['notify_supervisor']")
        known = {action.value for action in EscalationAction}
        for action in actions:
            if action not in known:
                raise InvalidPolicy(
                    f"unknown escalation action {action!r}; use {', '.join(sorted(known))}"
                )
        escalation[stage] = list(dict.fromkeys(actions))
    return escalation


def raised_priority(priority: str) -> str:
    """One step up; urgent stays urgent."""
    try:
        index = PRIORITY_ORDER.index(Priority(priority))
    except ValueError:
        return Priority.HIGH.value
    return PRIORITY_ORDER[min(index + 1, len(PRIORITY_ORDER) - 1)].value


@dataclass(frozen=True, slots=True)
class ClockState:
    started_at: datetime
    target: timedelta
    paused_at: datetime | None = None
    # Working time spent paused so far (not counting a pause still in progress).
    paused: timedelta = timedelta(0)
    stopped_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.stopped_at is None and self.paused_at is None


def start_clock(now: datetime, target: timedelta) -> ClockState:
    return ClockState(started_at=now, target=target)


def due_at(state: ClockState, calendar: BusinessCalendar) -> datetime:
    """The deadline: the target in working time from the start, pushed out by time paused."""
    return calendar.add_working_time(state.started_at, state.target + state.paused)


def warning_at(state: ClockState, calendar: BusinessCalendar, ratio: float) -> datetime:
    share = state.target * max(0.0, min(ratio, 1.0))
    return calendar.add_working_time(state.started_at, share + state.paused)


def pause_clock(state: ClockState, now: datetime) -> ClockState:
    if state.stopped_at is not None or state.paused_at is not None:
        return state
    return replace(state, paused_at=now)


def resume_clock(state: ClockState, now: datetime, calendar: BusinessCalendar) -> ClockState:
    if state.stopped_at is not None or state.paused_at is None:
        return state
    waited = calendar.working_time_between(state.paused_at, now)
    return replace(state, paused_at=None, paused=state.paused + waited)


@dataclass(frozen=True, slots=True)
class ClockOutcome:
    state: ClockState
    met: bool
    elapsed: timedelta  # wall-clock time from start to stop
    working: timedelta  # working time from start to stop, pauses left out


def stop_clock(state: ClockState, now: datetime, calendar: BusinessCalendar) -> ClockOutcome:
    """Stop at `now`; met when stopped no later than the deadline."""
    resumed = resume_clock(state, now, calendar)
    stopped = replace(resumed, stopped_at=now)
    deadline = due_at(resumed, calendar)
    working = calendar.working_time_between(state.started_at, now) - resumed.paused
    return ClockOutcome(
        state=stopped,
        met=now <= deadline,
        elapsed=now - state.started_at,
        working=max(working, timedelta(0)),
    )
