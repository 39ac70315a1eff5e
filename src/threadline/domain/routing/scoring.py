"""Which eligible agent should take a piece of work, and a readable reason why.

Eligibility is a hard filter (online, capacity, required skills, channel competence, language);
among the eligible, a weighted score of relationship affinity, skill level, channel competence,
free capacity and idle time picks the agent. Weights are per workspace.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from threadline.domain.channels import Channel
from threadline.domain.routing.capacity import Capacity

MAX_LEVEL = 10


@dataclass(frozen=True, slots=True)
class Weights:
    affinity: float = 3.0
    skill: float = 2.0
    competence: float = 2.0
    free_capacity: float = 1.0
    idle: float = 1.0
    # Idle time counts fully up to this long; beyond it, everyone idle is equally idle.
    idle_saturation: timedelta = timedelta(minutes=30)
    # A past contact this old counts half as much as one today.
    affinity_half_life: timedelta = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Work:
    """What needs an agent: a conversation (or a callback) on its current channel."""

    channel: Channel
    required_skills: Mapping[str, int] = field(default_factory=dict)
    min_competence: int = 1
    language: str | None = None


@dataclass(frozen=True, slots=True)
class AgentState:
    agent_id: int
    name: str
    online: bool
    available_channels: frozenset[Channel] | None  # None: every channel
    skills: Mapping[str, int]
    competences: Mapping[Channel, int]
    languages: frozenset[str]
    capacity: Capacity
    open_work: Mapping[Channel, int]
    idle_since: datetime | None
    # When this agent handled this customer before (conversations and messages).
    past_contacts: Sequence[datetime] = ()


@dataclass(frozen=True, slots=True)
class Candidate:
    agent_id: int
    score: float
    reasons: tuple[str, ...]

    def explanation(self, name: str) -> str:
        return f"{name}: " + "; ".join(self.reasons)


def refusal(agent: AgentState, work: Work) -> str | None:
    """Why `agent` cannot take `work` at all, or None when they can."""
    if not agent.online:
        return "not online"
    if agent.available_channels is not None and work.channel not in agent.available_channels:
        return f"not taking {work.channel.value} now"
    if not agent.capacity.can_take(agent.open_work, work.channel):
        return f"at capacity ({agent.capacity.load(agent.open_work)}/{agent.capacity.budget})"
    for skill, minimum in work.required_skills.items():
        level = agent.skills.get(skill, 0)
        if level < minimum:
            return f"{skill} level {level} below the required {minimum}"
    competence = agent.competences.get(work.channel, 0)
    if competence < work.min_competence:
        return f"{work.channel.value} competence {competence} below {work.min_competence}"
    if work.language and work.language not in agent.languages:
        return f"does not speak {work.language}"
    return None


def affinity(past_contacts: Sequence[datetime], now: datetime, half_life: timedelta) -> float:
    """Recency-weighted count of past contacts, squashed to 0..1 (one contact today ≈ 0.5)."""
    if not past_contacts:
        return 0.0
    decay = math.log(2) / half_life.total_seconds()
    weight = sum(math.exp(-decay * max(0.0, (now - t).total_seconds())) for t in past_contacts)
    return weight / (1.0 + weight)


def score(agent: AgentState, work: Work, now: datetime, weights: Weights) -> Candidate:
    relation = affinity(agent.past_contacts, now, weights.affinity_half_life)
    if work.required_skills:
        skill = sum(agent.skills.get(s, 0) for s in work.required_skills) / (
            MAX_LEVEL * len(work.required_skills)
        )
    else:
        skill = 0.0
    competence = agent.competences.get(work.channel, 0) / MAX_LEVEL
    free = agent.capacity.free_share(agent.open_work)
    idle_seconds = (now - agent.idle_since).total_seconds() if agent.idle_since else 0.0
    idle = min(1.0, max(0.0, idle_seconds) / weights.idle_saturation.total_seconds())
    total = (
        weights.affinity * relation
        + weights.skill * skill
        + weights.competence * competence
        + weights.free_capacity * free
        + weights.idle * idle
    )
    reasons = []
    if agent.past_contacts:
        reasons.append(f"handled this customer {len(agent.past_contacts)} time(s) before")
    if work.required_skills:
        levels = ", ".join(f"{s} {agent.skills.get(s, 0)}" for s in sorted(work.required_skills))
        reasons.append(f"skills {levels}")
    reasons.append(f"{work.channel.value} competence {agent.competences.get(work.channel, 0)}")
    reasons.append(f"{round(free * 100)}% capacity free")
    if idle_seconds > 0:
        reasons.append(f"idle {int(idle_seconds // 60)} min")
    reasons.append(f"score {total:.2f}")
    return Candidate(agent.agent_id, total, tuple(reasons))


def choose_agent(
    agents: Sequence[AgentState], work: Work, now: datetime, weights: Weights
) -> tuple[Candidate | None, dict[int, str]]:
    """The best eligible agent (ties go to the lower id, so the outcome is repeatable) and
    why each other agent was not eligible."""
    refused: dict[int, str] = {}
    best: Candidate | None = None
    for agent in agents:
        reason = refusal(agent, work)
        if reason is not None:
            refused[agent.agent_id] = reason
            continue
        candidate = score(agent, work, now, weights)
        if best is None or (candidate.score, -candidate.agent_id) > (best.score, -best.agent_id):
            best = candidate
    return best, refused
