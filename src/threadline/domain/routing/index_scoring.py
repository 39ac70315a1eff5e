"""What the routing index decides with: its decision, its fast scorer, the best agent found
so far, and the rounding slack of its bound. Pure arithmetic, no index state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from threadline.domain.routing.scoring import MAX_LEVEL, AgentState, Weights, Work


@dataclass(frozen=True, slots=True)
class Decision:
    agent_id: int | None
    explanation: str
    # How many agents could not take the work at all (as `len(refused)` of choose_agent).
    refused_count: int
    score: float | None = None
    # How many agents were scored to reach the decision (a measure of the pruning).
    scored: int = 0


class BestAgent:
    """The best agent scored so far: the highest score, ties to the lower id."""

    __slots__ = ("agent_id", "score", "scored")

    def __init__(self) -> None:
        self.agent_id: int | None = None
        self.score = 0.0
        self.scored = 0

    def consider(self, agent_id: int, value: float) -> None:
        self.scored += 1
        best_id = self.agent_id
        if best_id is None or value > self.score or (value == self.score and agent_id < best_id):
            self.agent_id, self.score = agent_id, value


class IndexScorer:
    """`scoring.score` without the reasons: the same arithmetic in the same order, so the
    same float, at a fraction of the cost."""

    __slots__ = ("channel", "free", "idle_saturation", "now", "required", "skill_scale", "w")

    def __init__(self, work: Work, now: datetime, weights: Weights, free: dict[int, float]):
        self.channel = work.channel
        self.required = tuple(work.required_skills)
        self.skill_scale = MAX_LEVEL * len(self.required)
        self.now = now
        self.w = weights
        self.idle_saturation = weights.idle_saturation.total_seconds()
        self.free = free

    def total(self, agent: AgentState, relation: float) -> float:
        if self.required:
            skills = agent.skills
            skill = sum(skills.get(s, 0) for s in self.required) / self.skill_scale
        else:
            skill = 0.0
        competence = agent.competences.get(self.channel, 0) / MAX_LEVEL
        idle_seconds = (self.now - agent.idle_since).total_seconds() if agent.idle_since else 0.0
        idle = min(1.0, max(0.0, idle_seconds) / self.idle_saturation)
        w = self.w
        return (
            w.affinity * relation
            + w.skill * skill
            + w.competence * competence
            + w.free_capacity * self.free[agent.agent_id]
            + w.idle * idle
        )


def float_margin(weights: Weights) -> float:
    """Rounding slack for the bound: the bound is summed in another order than the score, so
    it may be off by a few ulps; an agent is only skipped when it is clearly below the best."""
    total = (
        abs(weights.affinity)
        + abs(weights.skill)
        + abs(weights.competence)
        + abs(weights.free_capacity)
        + abs(weights.idle)
    )
    return 1e-9 * (1.0 + total)
