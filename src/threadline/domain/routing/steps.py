"""Routing steps for work that waits: sticky wait, skill relaxation, overflow, offers.

1. Sticky: the relationship agent (who handled this customer most, recency-weighted) is
   preferred outright when they could take the work. When they are online but full, the work
   waits for them up to `sticky_wait_seconds`, then goes to the best other eligible agent.
2. Relaxation: while nobody eligible has room, every `relax_after_seconds` the required skill
   levels drop by `relax_levels_per_step` (at most `max_relax_steps` times; a level that
   reaches 0 is no longer required).
3. Overflow: after the last relaxation, `overflow_after_seconds` later the work moves to
   `overflow_team_id` (when one is set) and is routed among that team.
4. Offer mode: the chosen agent is offered the work and must accept within
   `offer_timeout_seconds`; an agent who let `max_missed_offers` offers in a row run out is
   set away.

Settings are per workspace, overridden per team; anything not set takes the defaults below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

from threadline.domain.bounds import MAX_COUNT, MAX_SECONDS, is_row_id
from threadline.domain.errors import DomainError
from threadline.domain.routing.scoring import AgentState, Weights, Work, affinity, refusal


@dataclass(frozen=True, slots=True)
class StepSettings:
    sticky_wait_seconds: int = 60
    relax_after_seconds: int = 120
    relax_levels_per_step: int = 2
    max_relax_steps: int = 3
    overflow_after_seconds: int = 300
    overflow_team_id: int | None = None
    offer_mode: bool = False
    offer_timeout_seconds: int = 30
    max_missed_offers: int = 3

    @classmethod
    def merged(cls, *layers: Mapping[str, Any]) -> StepSettings:
        """Defaults, then each layer (workspace, then team) on top."""
        values: dict[str, Any] = {}
        for layer in layers:
            values.update({k: v for k, v in layer.items() if k in STEP_FIELDS})
        return cls(**values)


STEP_FIELDS = frozenset(f.name for f in fields(StepSettings))
# Zero switches a wait off (no sticky wait, no relaxation...); offers need some time.
_MINIMUM = {"offer_timeout_seconds": 1, "max_missed_offers": 1}


def check_steps(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validated step settings as stored; raises DomainError naming the offending field."""
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if name not in STEP_FIELDS:
            raise DomainError(f"unknown routing step setting {name!r}; use {sorted(STEP_FIELDS)}")
        if name == "offer_mode":
            if not isinstance(value, bool):
                raise DomainError("routing step setting offer_mode must be true or false")
        elif name == "overflow_team_id":
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or not is_row_id(value)
            ):
                raise DomainError("routing step setting overflow_team_id must be a team id")
        else:
            if not isinstance(value, int) or isinstance(value, bool):
                raise DomainError(f"routing step setting {name} must be a whole number")
            lowest = _MINIMUM.get(name, 0)
            highest = MAX_SECONDS if name.endswith("_seconds") else MAX_COUNT
            if value < lowest:
                raise DomainError(f"routing step setting {name} must be at least {lowest}")
            if value > highest:
                raise DomainError(f"routing step setting {name} must be at most {highest}")
        checked[name] = value
    return checked


def relaxed(work: Work, level: int, per_step: int) -> Work:
    """The work with every required skill level lowered `level` steps (0 drops the skill)."""
    if level <= 0 or not work.required_skills:
        return work
    lowered = {
        skill: minimum - level * per_step
        for skill, minimum in work.required_skills.items()
        if minimum - level * per_step > 0
    }
    return replace(work, required_skills=lowered)


def can_relax(work: Work, level: int, settings: StepSettings) -> bool:
    """Whether one more relaxation step would change anything."""
    return (
        level < settings.max_relax_steps
        and settings.relax_levels_per_step > 0
        and bool(relaxed(work, level, settings.relax_levels_per_step).required_skills)
    )


@dataclass(frozen=True, slots=True)
class Sticky:
    agent_id: int
    # True: they can take it now; False: online but full, worth waiting for.
    has_room: bool


def relationship_agent(
    agents: Sequence[AgentState], work: Work, now: datetime, weights: Weights
) -> Sticky | None:
    """The agent with the strongest relationship to the customer, when they could handle
    the work (apart from being full right now); None when nobody has one."""
    best: tuple[float, int] | None = None
    best_state: AgentState | None = None
    for agent in agents:
        if not agent.past_contacts:
            continue
        strength = affinity(agent.past_contacts, now, weights.affinity_half_life)
        if best is None or (strength, -agent.agent_id) > best:
            best, best_state = (strength, -agent.agent_id), agent
    if best_state is None:
        return None
    if refusal(best_state, work) is None:
        return Sticky(best_state.agent_id, True)
    # Would they qualify with no open work at all? Then only their load stands in the way.
    idle = replace(best_state, open_work={})
    if refusal(idle, work) is None:
        return Sticky(best_state.agent_id, False)
    return None


@dataclass(frozen=True, slots=True)
class NextStep:
    kind: str  # "relax" | "overflow"
    after: timedelta


def next_step(
    work: Work,
    relax_level: int,
    overflowed: bool,
    team_id: int | None,
    settings: StepSettings,
) -> NextStep | None:
    """What to do if the work is still waiting after a while: relax, overflow, or nothing."""
    if settings.relax_after_seconds > 0 and can_relax(work, relax_level, settings):
        return NextStep("relax", timedelta(seconds=settings.relax_after_seconds))
    target = settings.overflow_team_id
    if target is not None and not overflowed and target != team_id:
        return NextStep("overflow", timedelta(seconds=settings.overflow_after_seconds))
    return None


def should_set_away(missed_in_a_row: int, settings: StepSettings) -> bool:
    return missed_in_a_row >= settings.max_missed_offers
