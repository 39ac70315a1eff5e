"""An in-memory index of agents that makes a routing decision without scanning everyone.

`RoutingIndex.decide` returns exactly the agent `scoring.choose_agent` would return over all
agents (same eligibility, same score to the last bit, ties to the lower id), but:

* eligibility is a few C-speed set intersections, smallest set first: per channel and minimum
  competence the agents who could take that channel now (online, taking the channel, enough
  free budget and under the channel limit), per skill and minimum level, per language;
* among many eligible agents it walks the channel's agents in descending order of the part of
  the score that does not depend on the work or the clock (competence and free capacity) and
  stops as soon as no agent further down can reach the best score found (branch and bound:
  what is left to add is at most the best possible skill score and a full idle score, and
  agents without history with this customer have no affinity);
* the customer's past agents (a short list from the work item) are always scored, with their
  affinity.

Changes (presence, channels, assigned and finished work, skills...) update the index in place;
the channel order is a sorted list kept with bisect, so an update is a binary search plus a
memory move per channel, not a rebuild.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from threadline.domain.channels import Channel
from threadline.domain.errors import Conflict, NotFound
from threadline.domain.routing.capacity import Capacity
from threadline.domain.routing.index_scoring import (
    BestAgent,
    Decision,
    IndexScorer,
    float_margin,
)
from threadline.domain.routing.scoring import (
    MAX_LEVEL,
    AgentState,
    Weights,
    Work,
    affinity,
    score,
)

# Below this many eligible agents, scoring them all is cheaper than walking the channel order.
SCORE_ALL_BELOW = 160

_EMPTY: frozenset[int] = frozenset()
_AnySet = set[int] | frozenset[int]


class RoutingIndex:
    def __init__(self, agents: Iterable[AgentState] = ()) -> None:
        self._agents: dict[int, AgentState] = {}
        self._free: dict[int, float] = {}
        # channel -> minimum competence -> agents ready for the channel with at least that
        # competence; level 0 holds every agent ready for the channel.
        self._ready: dict[Channel, dict[int, set[int]]] = {c: {0: set()} for c in Channel}
        # What `_place` registered per agent: channel -> competence, to undo it exactly.
        self._placed: dict[int, dict[Channel, int]] = {}
        # skill -> level -> agents with at least that level (levels >= 1; empty sets dropped).
        self._skills: dict[str, dict[int, set[int]]] = {}
        self._speaks: dict[str, set[int]] = {}
        # Per channel and "has an idle time" (agents without one score 0 for idle, which
        # tightens their bound), (-static score, agent id) ascending, for _order_weights.
        self._order: dict[tuple[Channel, bool], list[tuple[float, int]]] = {}
        self._order_key: dict[Channel, dict[int, tuple[float, bool]]] = {}
        self._order_weights: tuple[float, float] | None = None
        for agent in agents:
            self.upsert(agent)

    # --- reading -------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._agents)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._agents

    def state(self, agent_id: int) -> AgentState:
        return self._get(agent_id)

    def states(self) -> list[AgentState]:
        return list(self._agents.values())

    # --- changes -------------------------------------------------------------------------

    def upsert(self, agent: AgentState) -> None:
        """Add an agent or replace everything known about them (past contacts are not kept:
        they belong to a customer and come with each decision)."""
        _check_levels(agent)
        agent = dataclasses.replace(agent, past_contacts=())
        old = self._agents.get(agent.agent_id)
        if old is not None:
            self._unplace(old.agent_id)
            self._unindex_skills(old)
            self._unindex_languages(old)
        self._agents[agent.agent_id] = agent
        self._place(agent)
        self._index_skills(agent)
        self._index_languages(agent)

    def remove(self, agent_id: int) -> None:
        old = self._get(agent_id)
        self._unplace(agent_id)
        self._unindex_skills(old)
        self._unindex_languages(old)
        del self._agents[agent_id]
        del self._free[agent_id]

    def agent_online(self, agent_id: int) -> None:
        self._change_presence(agent_id, online=True)

    def agent_offline(self, agent_id: int) -> None:
        self._change_presence(agent_id, online=False)

    def set_channels(self, agent_id: int, channels: Iterable[Channel] | None) -> None:
        """Which channels the agent takes now (None: every channel)."""
        available = None if channels is None else frozenset(channels)
        self._change_presence(agent_id, available_channels=available)

    def set_capacity(self, agent_id: int, capacity: Capacity) -> None:
        self._change_presence(agent_id, capacity=capacity)

    def set_competences(self, agent_id: int, competences: Mapping[Channel, int]) -> None:
        self._change_presence(agent_id, competences=dict(competences))

    def work_assigned(self, agent_id: int, channel: Channel) -> None:
        open_work = dict(self._get(agent_id).open_work)
        open_work[channel] = open_work.get(channel, 0) + 1
        self._change_presence(agent_id, open_work=open_work)

    def work_finished(self, agent_id: int, channel: Channel) -> None:
        open_work = dict(self._get(agent_id).open_work)
        count = open_work.get(channel, 0)
        if count <= 0:
            raise Conflict(f"agent {agent_id} has no open {channel.value} work to finish")
        if count == 1:
            del open_work[channel]
        else:
            open_work[channel] = count - 1
        self._change_presence(agent_id, open_work=open_work)

    def set_idle_since(self, agent_id: int, idle_since: datetime | None) -> None:
        agent = self._get(agent_id)
        if (agent.idle_since is None) != (idle_since is None):
            self._change_presence(agent_id, idle_since=idle_since)  # moves between orders
        else:
            # Idle time itself is read at decision time; nothing indexed depends on it.
            self._agents[agent_id] = dataclasses.replace(agent, idle_since=idle_since)

    def set_skills(self, agent_id: int, skills: Mapping[str, int]) -> None:
        old = self._get(agent_id)
        new = dataclasses.replace(old, skills=dict(skills))
        _check_levels(new)
        self._unindex_skills(old)
        self._agents[agent_id] = new
        self._index_skills(new)

    def set_languages(self, agent_id: int, languages: Iterable[str]) -> None:
        old = self._get(agent_id)
        new = dataclasses.replace(old, languages=frozenset(languages))
        self._unindex_languages(old)
        self._agents[agent_id] = new
        self._index_languages(new)

    # --- the decision --------------------------------------------------------------------

    def decide(
        self,
        work: Work,
        past_agents: Mapping[int, Sequence[datetime]],
        now: datetime,
        weights: Weights,
    ) -> Decision:
        """The agent `choose_agent` would pick over all indexed agents, each given their past
        contacts with this customer from `past_agents`."""
        eligible = self._eligible(work)
        refused_count = len(self._agents) - len(eligible)
        scorer = IndexScorer(work, now, weights, self._free)
        best = BestAgent()
        self._score_past_agents(best, scorer, eligible, past_agents, now, weights)
        if len(eligible) < SCORE_ALL_BELOW:
            self._score_every_other(best, scorer, eligible, past_agents)
        else:
            self._score_down_the_order(best, scorer, eligible, past_agents, work, weights)
        if best.agent_id is None:
            return Decision(
                None, f"no eligible agent ({refused_count} could not take it)", refused_count
            )
        winner = dataclasses.replace(
            self._agents[best.agent_id], past_contacts=tuple(past_agents.get(best.agent_id, ()))
        )
        candidate = score(winner, work, now, weights)
        return Decision(
            best.agent_id,
            candidate.explanation(winner.name),
            refused_count,
            candidate.score,
            best.scored,
        )

    def _score_past_agents(
        self,
        best: BestAgent,
        scorer: IndexScorer,
        eligible: _AnySet,
        past_agents: Mapping[int, Sequence[datetime]],
        now: datetime,
        weights: Weights,
    ) -> None:
        """The customer's past agents, always scored, with their affinity."""
        for agent_id, contacts in past_agents.items():
            if agent_id not in eligible:
                continue
            relation = affinity(contacts, now, weights.affinity_half_life)
            best.consider(agent_id, scorer.total(self._agents[agent_id], relation))

    def _score_every_other(
        self,
        best: BestAgent,
        scorer: IndexScorer,
        eligible: _AnySet,
        past_agents: Mapping[int, Sequence[datetime]],
    ) -> None:
        """Few eligible agents: score every one without history with the customer."""
        agents = self._agents
        for agent_id in eligible:
            if agent_id in past_agents:
                continue
            best.consider(agent_id, scorer.total(agents[agent_id], 0.0))

    def _score_down_the_order(
        self,
        best: BestAgent,
        scorer: IndexScorer,
        eligible: _AnySet,
        past_agents: Mapping[int, Sequence[datetime]],
        work: Work,
        weights: Weights,
    ) -> None:
        """Many eligible agents: walk the channel's agents by descending static score and
        stop once nobody further down can reach the best score (branch and bound)."""
        agents = self._agents
        # Whatever an unexamined agent without history can add to its static part.
        skill_part = self._best_skill_part(work, weights)
        idle_part = max(weights.idle, 0.0)
        margin = float_margin(weights)
        self._ensure_order(weights)
        # Agents with an idle time first: they usually score higher.
        for has_idle_time in (True, False):
            rest = skill_part + idle_part if has_idle_time else skill_part
            for neg_static, agent_id in self._order[work.channel, has_idle_time]:
                if best.agent_id is not None and rest - neg_static < best.score - margin:
                    break  # nobody further down can reach the best score
                if agent_id not in eligible or agent_id in past_agents:
                    continue
                best.consider(agent_id, scorer.total(agents[agent_id], 0.0))

    def _eligible(self, work: Work) -> _AnySet:
        ready = self._ready[work.channel]
        filters: list[_AnySet] = [ready.get(max(work.min_competence, 0), _EMPTY)]
        if work.language:
            filters.append(self._speaks.get(work.language, _EMPTY))
        for skill, minimum in work.required_skills.items():
            if minimum >= 1:
                filters.append(self._skills.get(skill, {}).get(minimum, _EMPTY))
        if len(filters) == 1:
            return filters[0]  # read only: the caller never changes it
        filters.sort(key=len)
        return filters[0].intersection(*filters[1:])

    def _best_skill_part(self, work: Work, weights: Weights) -> float:
        """An upper bound of the skill term of any eligible agent."""
        skill_bound = 0.0
        if work.required_skills:
            if weights.skill >= 0:
                levels = sum(self._max_level(s) for s in work.required_skills)
            else:
                levels = sum(max(m, 0) for m in work.required_skills.values())
            skill_bound = weights.skill * (levels / (MAX_LEVEL * len(work.required_skills)))
        return skill_bound

    def _max_level(self, skill: str) -> int:
        levels = self._skills.get(skill)
        return max(levels) if levels else 0

    def _ensure_order(self, weights: Weights) -> None:
        wanted = (weights.competence, weights.free_capacity)
        if self._order_weights == wanted:
            return
        self._order_weights = wanted
        self._order = {(c, idle): [] for c in Channel for idle in (True, False)}
        self._order_key = {c: {} for c in Channel}
        for agent_id, placed in self._placed.items():
            has_idle_time = self._agents[agent_id].idle_since is not None
            for c, competence in placed.items():
                key = self._static_key(agent_id, competence)
                self._order_key[c][agent_id] = (key, has_idle_time)
                self._order[c, has_idle_time].append((key, agent_id))
        for entries in self._order.values():
            entries.sort()

    def _static_key(self, agent_id: int, competence: int) -> float:
        assert self._order_weights is not None
        competence_weight, free_weight = self._order_weights
        return -(competence_weight * (competence / MAX_LEVEL) + free_weight * self._free[agent_id])

    # --- keeping the indexes ---------------------------------------------------------------

    def _get(self, agent_id: int) -> AgentState:
        try:
            return self._agents[agent_id]
        except KeyError:
            raise NotFound(f"agent {agent_id} is not in the routing index") from None

    def _change_presence(self, agent_id: int, **changes: object) -> None:
        new = dataclasses.replace(self._get(agent_id), **changes)  # type: ignore[arg-type]
        _check_levels(new)
        self._unplace(agent_id)
        self._agents[agent_id] = new
        self._place(new)

    def _place(self, agent: AgentState) -> None:
        agent_id = agent.agent_id
        self._free[agent_id] = agent.capacity.free_share(agent.open_work)
        placed: dict[Channel, int] = {}
        if agent.online:
            for channel in Channel:
                if agent.available_channels is not None and channel not in agent.available_channels:
                    continue
                if not agent.capacity.can_take(agent.open_work, channel):
                    continue
                competence = agent.competences.get(channel, 0)
                placed[channel] = competence
                levels = self._ready[channel]
                for level in range(competence + 1):
                    levels.setdefault(level, set()).add(agent_id)
                if self._order_weights is not None:
                    key = self._static_key(agent_id, competence)
                    has_idle_time = agent.idle_since is not None
                    self._order_key[channel][agent_id] = (key, has_idle_time)
                    insort(self._order[channel, has_idle_time], (key, agent_id))
        self._placed[agent_id] = placed

    def _unplace(self, agent_id: int) -> None:
        for channel, competence in self._placed.pop(agent_id, {}).items():
            levels = self._ready[channel]
            for level in range(competence + 1):
                members = levels[level]
                members.discard(agent_id)
                if not members and level > 0:
                    del levels[level]
            if self._order_weights is not None:
                key, has_idle_time = self._order_key[channel].pop(agent_id)
                entries = self._order[channel, has_idle_time]
                del entries[bisect_left(entries, (key, agent_id))]

    def _index_skills(self, agent: AgentState) -> None:
        for skill, level in agent.skills.items():
            if level < 1:
                continue
            levels = self._skills.setdefault(skill, {})
            for at_least in range(1, level + 1):
                levels.setdefault(at_least, set()).add(agent.agent_id)

    def _unindex_skills(self, agent: AgentState) -> None:
        for skill, level in agent.skills.items():
            if level < 1:
                continue  # level 0 is not indexed: it is the same as not having the skill
            levels = self._skills[skill]
            for at_least in range(1, level + 1):
                members = levels[at_least]
                members.discard(agent.agent_id)
                if not members:
                    del levels[at_least]
            if not levels:
                del self._skills[skill]

    def _index_languages(self, agent: AgentState) -> None:
        for language in agent.languages:
            self._speaks.setdefault(language, set()).add(agent.agent_id)

    def _unindex_languages(self, agent: AgentState) -> None:
        for language in agent.languages:
            members = self._speaks[language]
            members.discard(agent.agent_id)
            if not members:
                del self._speaks[language]


def _check_levels(agent: AgentState) -> None:
    # The level sets assume "no skill" and "level 0" are the same thing, as in `refusal`.
    if any(level < 0 for level in agent.skills.values()) or any(
        level < 0 for level in agent.competences.values()
    ):
        raise ValueError(f"agent {agent.agent_id}: skill levels and competences must be >= 0")
