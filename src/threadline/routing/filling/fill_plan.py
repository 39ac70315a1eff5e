"""Planning a fill pass without conversation locks: in queue order, which of the pass's agents
takes which conversation (the decision index over just them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.adapters.db.id_lists import among
from threadline.domain.channels import Channel
from threadline.domain.routing.capacity import Capacity
from threadline.domain.routing.index import RoutingIndex
from threadline.domain.routing.queue import QueuePolicy, queue_order
from threadline.domain.routing.scoring import AgentState, Weights, Work, choose_agent
from threadline.domain.routing.steps import StepSettings, relaxed
from threadline.routing.assignments.work import work_for, work_from
from threadline.routing.candidates import past_contacts_of_customers
from threadline.routing.queue import waiting_rows

# A pass looks this far down the queue per conversation its agents could take at most
# (at least MIN_SCAN: work needing skills they lack is passed over).
SCAN_PER_SLOT = 3


# It looks first at the conversations they have room for and a quarter more.
FIRST_LOOK_MARGIN = 4


MIN_SCAN = 40


MAX_SCAN = 2_000


@dataclass
class PassAgents:
    """What one pass knows about its agents, as it hands out work."""

    states: dict[int, AgentState]
    teams: dict[int, list[int]]
    weights: Weights
    now: datetime
    indexes: dict[int | None, RoutingIndex] = field(default_factory=dict)
    # Agents who still have room for something (kept as work is handed out).
    with_room: set[int] = field(init=False)

    def __post_init__(self) -> None:
        self.with_room = {
            s.agent_id for s in self.states.values() if room_for_anything(s.capacity, s.open_work)
        }

    def index_for(self, team_id: int | None) -> RoutingIndex:
        """The agents who may take a conversation of this team (all of them for no team)."""
        if team_id not in self.indexes:
            members = [
                s
                for s in self.states.values()
                if team_id is None or team_id in self.teams.get(s.agent_id, [])
            ]
            self.indexes[team_id] = RoutingIndex(members)
        return self.indexes[team_id]

    def took(self, agent_id: int, channel: Channel) -> None:
        state = self.states[agent_id]
        open_work = dict(state.open_work)
        open_work[channel] = open_work.get(channel, 0) + 1
        self.states[agent_id] = replace(state, open_work=open_work, idle_since=None)
        if not room_for_anything(state.capacity, open_work):
            self.with_room.discard(agent_id)
        for index in self.indexes.values():
            if agent_id in index:
                index.work_assigned(agent_id, channel)
                index.set_idle_since(agent_id, None)

    def has_room(self) -> bool:
        return bool(self.with_room)


def room_for_anything(capacity: Capacity, open_work: Mapping[Channel, int]) -> bool:
    return any(capacity.can_take(open_work, channel) for channel in Channel)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A waiting conversation as the plan sees it: what choosing its agent depends on."""

    conversation_id: int
    customer_id: int
    team_id: int | None
    inbox_id: int | None
    # The inbox's routing settings and the customer's language attribute, as read.
    inbox_routing: Mapping[str, Any] | None
    customer_language: object
    work: Work | None


async def plan_pass(
    session: AsyncSession,
    workspace_id: int,
    work: PassAgents,
    team_ids: list[int],
    steps_for: Callable[[int | None], Awaitable[StepSettings]],
) -> tuple[
    dict[int, Candidate],
    dict[int, t.RoutingProgress],
    dict[int, dict[int, list[datetime]]],
    list[Planned],
]:
    """Who of the pass's agents takes what, in queue order, read without locks. Returns the
    conversations looked at, their routing progress, their customers' past contacts with the
    agents and the plan.

    It looks first at about as many conversations as the agents have room for, and further
    down the queue (up to SCAN_PER_SLOT times that) only when agents still have room: most
    of the time the head of the queue fills them, and reading three times the rows it needs
    cost a pass more than anything else it did."""
    slots = sum(_slots(state) for state in work.states.values())
    scan = max(MIN_SCAN, min(MAX_SCAN, slots * SCAN_PER_SLOT))
    window = max(MIN_SCAN, min(scan, slots + slots // FIRST_LOOK_MARGIN))
    seen: dict[int, Candidate] = {}
    progress: dict[int, t.RoutingProgress] = {}
    past: dict[int, dict[int, list[datetime]]] = {}
    asked: set[int] = set()  # customers whose past contacts were read
    plan: list[Planned] = []
    while True:
        rows = await waiting_rows(session, workspace_id, team_ids=team_ids, window=window)
        ordered = [
            item.conversation_id
            for item in queue_order([row.waiting for row in rows], work.now, QueuePolicy())
        ][:window]
        fresh = [conversation_id for conversation_id in ordered if conversation_id not in seen]
        found, marks = await _candidates(session, fresh)
        seen.update(found)
        progress.update(marks)
        customers = {c.customer_id for c in found.values()} - asked
        asked |= customers
        past.update(await past_contacts_of_customers(session, customers, list(work.states)))
        for conversation_id in fresh:
            if not work.has_room():
                return seen, progress, past, plan
            candidate = found.get(conversation_id)
            if candidate is None:
                continue
            mark = progress.get(conversation_id)
            chosen = await hand_out(work, candidate, mark, steps_for, past)
            if chosen is not None:
                plan.append(Planned(candidate, chosen, _routed_on(candidate, mark)))
        if not work.has_room() or window >= scan or len(ordered) < window:
            return seen, progress, past, plan
        window = scan


async def _candidates(
    session: AsyncSession, conversation_ids: list[int]
) -> tuple[dict[int, Candidate], dict[int, t.RoutingProgress]]:
    """These conversations as the plan sees them, with their routing progress, in one
    statement: plain columns (the inbox's routing settings and the customer's language, not
    their rows), as most are looked at and never assigned."""
    if not conversation_ids:
        return {}, {}
    rows = await session.execute(
        select(
            t.Conversation.id,
            t.Conversation.customer_id,
            t.Conversation.team_id,
            t.Conversation.last_inbound_inbox_id,
            t.Conversation.last_inbound_channel,
            t.Conversation.attributes,
            t.Inbox.settings["routing"],
            t.Customer.attributes["language"],
            t.RoutingProgress,
        )
        .join(t.Customer, t.Customer.id == t.Conversation.customer_id)
        .outerjoin(t.Inbox, t.Inbox.id == t.Conversation.last_inbound_inbox_id)
        .outerjoin(t.RoutingProgress, t.RoutingProgress.conversation_id == t.Conversation.id)
        .where(among(session, t.Conversation.id, conversation_ids))
    )
    found: dict[int, Candidate] = {}
    marks: dict[int, t.RoutingProgress] = {}
    for cid, customer, team, inbox, channel, attributes, routing, language, mark in rows:
        found[cid] = Candidate(
            cid,
            customer,
            team,
            inbox,
            routing,
            language,
            work_from(channel, attributes, routing, language),
        )
        if mark is not None:
            marks[cid] = mark
    return found, marks


async def as_locked(
    session: AsyncSession, conversation: t.Conversation, seen: Candidate
) -> Candidate:
    """The candidate again from its row re-read under the lock (its customer and inbox as
    read for the plan, unless the conversation moved to another of either)."""
    if (conversation.customer_id, conversation.last_inbound_inbox_id) == (
        seen.customer_id,
        seen.inbox_id,
    ):
        needed = work_from(
            conversation.last_inbound_channel,
            conversation.attributes,
            seen.inbox_routing,
            seen.customer_language,
        )
    else:
        needed = await work_for(session, conversation)
    return replace(
        seen,
        customer_id=conversation.customer_id,
        team_id=conversation.team_id,
        inbox_id=conversation.last_inbound_inbox_id,
        work=needed,
    )


async def hand_out(
    work: PassAgents,
    candidate: Candidate,
    mark: t.RoutingProgress | None,
    steps_for: Callable[[int | None], Awaitable[StepSettings]],
    past: dict[int, dict[int, list[datetime]]],
) -> Choice | None:
    """The best of the pass's agents for the conversation, who takes it (their room is
    counted)."""
    chosen = _choose(
        work,
        candidate,
        mark,
        await steps_for(candidate.team_id),
        past.get(candidate.customer_id, {}),
    )
    if chosen is not None:
        work.took(chosen.agent_id, chosen.channel)
    return chosen


@dataclass(frozen=True, slots=True)
class Planned:
    candidate: Candidate
    choice: Choice
    # What the choice was made on; the plan holds while this is unchanged under the lock.
    routed_on: tuple[object, ...]


def _routed_on(candidate: Candidate, mark: t.RoutingProgress | None) -> tuple[object, ...]:
    progress = (
        None
        if mark is None
        else (
            mark.relax_level,
            tuple(mark.passed_over or ()),
            mark.sticky_agent_id,
            mark.sticky_until,
            mark.sticky_done,
            mark.carried_reason,
        )
    )
    return (candidate.work, candidate.team_id, candidate.customer_id, progress)


def plan_still_holds(
    plan: list[Planned],
    relocked: list[Candidate],
    progress: dict[int, t.RoutingProgress],
) -> list[Choice | None] | None:
    """The planned choices, when every planned conversation was locked and nothing the plan
    was made on changed meanwhile (then planning again would choose exactly the same)."""
    if len(relocked) != len(plan):
        return None
    for item, candidate in zip(plan, relocked, strict=True):
        if item.routed_on != _routed_on(candidate, progress.get(candidate.conversation_id)):
            return None
    return [item.choice for item in plan]


@dataclass(frozen=True, slots=True)
class Choice:
    agent_id: int
    channel: Channel
    explanation: str
    # How many of this pass's agents could take it at that moment (the chosen one included).
    eligible: int


def _choose(
    work: PassAgents,
    candidate: Candidate,
    mark: t.RoutingProgress | None,
    steps: StepSettings,
    past: dict[int, list[datetime]],
) -> Choice | None:
    """The best of this pass's agents with room for the conversation, as relaxed so far,
    leaving out agents who declined it and, while it waits for its relationship agent,
    everyone else."""
    if candidate.work is None:
        return None
    needed = relaxed(candidate.work, mark.relax_level if mark else 0, steps.relax_levels_per_step)
    index = work.index_for(candidate.team_id)
    if not len(index):
        return None
    passed_over = set(mark.passed_over or []) if mark is not None else set()
    waits_for = (
        mark.sticky_agent_id
        if mark is not None
        and not mark.sticky_done
        and mark.sticky_until is not None
        and work.now < mark.sticky_until
        else None
    )
    if passed_over or waits_for is not None:
        pool = [
            replace(s, past_contacts=tuple(past.get(s.agent_id, ())))
            for s in index.states()
            if s.agent_id not in passed_over and waits_for in (None, s.agent_id)
        ]
        best, refused = choose_agent(pool, needed, work.now, work.weights)
        if best is None:
            return None
        name = work.states[best.agent_id].name
        eligible = len(pool) - len(refused)
        return Choice(best.agent_id, needed.channel, best.explanation(name), eligible)
    decision = index.decide(
        needed, {a: c for a, c in past.items() if a in index}, work.now, work.weights
    )
    if decision.agent_id is None:
        return None
    eligible = len(index) - decision.refused_count
    return Choice(decision.agent_id, needed.channel, decision.explanation, eligible)


def reason_for(name: str, choice: Choice) -> str:
    others = choice.eligible - 1
    if others <= 0:
        return f"next in the queue when {name} had room. {choice.explanation}"
    return (
        f"next in the queue when {name} and {others} other eligible agent(s) had room; "
        f"{name} scored best. {choice.explanation}"
    )


def _slots(state: AgentState) -> int:
    """At most how many more conversations the agent could take (of the cheapest channel)."""
    capacity = state.capacity
    free = capacity.budget - capacity.load(state.open_work)
    cheapest = min(capacity.cost(channel) for channel in Channel)
    return max(0, free // max(1, cheapest))
