"""Routing in the database: pick an agent with the domain rules, then claim them atomically.

Claims follow one lock order everywhere — the conversation row, then the agent's load row —
so concurrent routers (several API and worker processes) queue instead of deadlocking:
- the conversation row lock (re-read once granted) means a conversation is claimed once;
- the agent_loads row lock is held by everyone who assigns to or releases from that agent, and
  the agent's open work is re-counted under it, so capacity is checked and taken in one step;
- a partial unique index allows one active assignment per conversation, as a last backstop.
On SQLite, BEGIN IMMEDIATE serialises writers, which gives the same guarantees.

Times are read after the locks are granted, so the stored history (assigned_at/released_at)
orders claims and releases of one agent as they really happened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, literal_column, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.adapters.db.id_lists import among
from threadline.adapters.db.inserts import insert_ignoring_conflict
from threadline.core.timers import cancel_timer, schedule_timer
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import conversation_view, iso
from threadline.domain.agent_profile import Presence
from threadline.domain.channels import Channel
from threadline.domain.conversations import ConversationStatus, Priority
from threadline.domain.errors import Conflict, NotFound
from threadline.domain.events import DomainEvent, EventType
from threadline.domain.routing.capacity import Capacity, with_team_default
from threadline.domain.routing.queue import QueuePolicy, Waiting
from threadline.domain.routing.scoring import AgentState, Weights, Work, choose_agent, score
from threadline.domain.routing.steps import StepSettings, next_step, relationship_agent, relaxed

MANUAL = "manual"
AUTO = "auto"
MODES = (MANUAL, AUTO)
# An agent without any channel competences configured counts as this good on every channel,
# so that switching a workspace to auto mode routes before anyone has tuned profiles.
DEFAULT_COMPETENCE = 5
# How many other agents a failed claim (someone else filled them first) may fall back to.
MAX_CLAIM_ATTEMPTS = 3
# How far down the queue (at least) the queue position and the fill from the queue look.
WAITING_WINDOW = 100
PAST_CONTACTS_LIMIT = 500
# Timer kinds (handlers in routing_handlers.py) and offer states.
STEP_TIMER = "routing.step"
OFFER_TIMER = "routing.offer"
PENDING = "pending"


@dataclass(frozen=True, slots=True)
class RouteResult:
    assignment: t.Assignment | None
    # Why this agent, or why nobody.
    explanation: str
    # Offer mode: the offer made instead of an assignment.
    offer: t.RoutingOffer | None = None


# --- settings -------------------------------------------------------------------------------


async def stored_settings(session: AsyncSession, workspace_id: int) -> t.RoutingSettings | None:
    return await session.get(t.RoutingSettings, workspace_id)


async def is_auto(session: AsyncSession, workspace_id: int) -> bool:
    row = await stored_settings(session, workspace_id)
    return row is not None and row.mode == AUTO


WEIGHT_FIELDS = ("affinity", "skill", "competence", "free_capacity", "idle")


def weights_from(stored: Mapping[str, Any]) -> Weights:
    defaults = Weights()
    values = {name: float(stored.get(name, getattr(defaults, name))) for name in WEIGHT_FIELDS}
    saturation = stored.get("idle_saturation_minutes")
    half_life = stored.get("affinity_half_life_days")
    return Weights(
        **values,
        idle_saturation=(
            timedelta(minutes=float(saturation)) if saturation else defaults.idle_saturation
        ),
        affinity_half_life=(
            timedelta(days=float(half_life)) if half_life else defaults.affinity_half_life
        ),
    )


async def workspace_weights(session: AsyncSession, workspace_id: int) -> Weights:
    row = await stored_settings(session, workspace_id)
    return weights_from(row.weights if row is not None else {})


async def step_settings(
    session: AsyncSession, workspace_id: int, team_id: int | None
) -> StepSettings:
    """The workspace's routing steps with the team's own settings on top."""
    row = await stored_settings(session, workspace_id)
    layers: list[Mapping[str, Any]] = [row.steps if row is not None else {}]
    if team_id is not None:
        team = await session.get(t.TeamRouting, team_id)
        if team is not None and team.workspace_id == workspace_id:
            layers.append(team.steps)
    return StepSettings.merged(*layers)


def step_timer_key(conversation_id: int) -> str:
    return f"routing-step:{conversation_id}"


def offer_timer_key(offer_id: int) -> str:
    return f"routing-offer:{offer_id}"


# --- locks and load -------------------------------------------------------------------------


async def lock_conversation(
    session: AsyncSession, workspace_id: int, conversation_id: int, *, skip_locked: bool = False
) -> t.Conversation | None:
    """The conversation row, locked and re-read once the lock is granted (None: missing, or
    skipped because another router holds it)."""
    # populate_existing overwrites the identity map: never lose unflushed changes to it.
    await session.flush()
    query = (
        select(t.Conversation)
        .where(t.Conversation.id == conversation_id, t.Conversation.workspace_id == workspace_id)
        .with_for_update(skip_locked=skip_locked)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def _lock_load(session: AsyncSession, agent: t.Agent, now: datetime) -> t.AgentLoad:
    # The agent's own row first (NO KEY UPDATE: it still lets foreign keys point at it), in
    # the order a profile or presence change takes it (agents row, then load row): inserting
    # an assignment needs a key-share lock on the agent, which would otherwise wait on a
    # presence change that waits on our load row.
    await session.execute(
        select(t.Agent.id).where(t.Agent.id == agent.id).with_for_update(key_share=True)
    )
    [row] = await _locked_loads(session, [agent], now)
    return row


async def _locked_loads(
    session: AsyncSession, agents: list[t.Agent], now: datetime
) -> list[t.AgentLoad]:
    """The agents' load rows locked in agent id order (the caller holds the agents' rows);
    a missing row is created first, and a concurrent creator makes ours a no-op."""
    query = (
        select(t.AgentLoad)
        .where(among(session, t.AgentLoad.agent_id, [agent.id for agent in agents]))
        .order_by(t.AgentLoad.agent_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    loads = list((await session.execute(query)).scalars())
    if len(loads) < len(agents):
        have = {load.agent_id for load in loads}
        await insert_ignoring_conflict(
            session, t.AgentLoad, *(empty_load(a, now) for a in agents if a.id not in have)
        )
        loads = list((await session.execute(query)).scalars())
    return loads


def empty_load(agent: t.Agent, now: datetime) -> dict[str, Any]:
    """The load row of an agent with no open work (created with the agent)."""
    return {
        "agent_id": agent.id,
        "workspace_id": agent.workspace_id,
        "load": 0,
        "open_work": {},
        "version": 0,
        "updated_at": now,
    }


@dataclass(frozen=True, slots=True)
class LockedAgents:
    agents: list[t.Agent]
    loads: list[t.AgentLoad]
    states: list[AgentState]
    # The teams each agent belongs to.
    teams: dict[int, list[int]]


async def agent_states_locked(
    session: AsyncSession, workspace_id: int, agent_ids: list[int], now: datetime
) -> LockedAgents:
    """These active agents with their rows and load rows locked, in agent id order (the
    order a presence change and `claim` take them, one agent at a time; a missing load row
    is created first), their states with open work counted again under the locks, and their
    teams."""
    agents = list(
        (
            await session.execute(
                select(t.Agent)
                .where(
                    among(session, t.Agent.id, agent_ids),
                    t.Agent.workspace_id == workspace_id,
                    t.Agent.active.is_(True),
                )
                .order_by(t.Agent.id)
                .with_for_update(key_share=True)
                .execution_options(populate_existing=True)
            )
        ).scalars()
    )
    ids = [agent.id for agent in agents]
    if not ids:
        return LockedAgents([], [], [], {})
    loads = await _locked_loads(session, agents, now)
    open_work = await open_work_of_agents(session, ids)
    changed_at = {load.agent_id: load.updated_at for load in loads}
    teams, team_capacities = await _teams_and_capacities(session, ids)
    states = [
        agent_state(
            agent,
            open_work[agent.id],
            changed_at.get(agent.id, agent.created_at),
            team_capacities.get(agent.id),
            (),
        )
        for agent in agents
    ]
    return LockedAgents(agents, loads, states, teams)


async def open_work_of(session: AsyncSession, agent_id: int) -> dict[Channel, int]:
    return (await open_work_of_agents(session, [agent_id]))[agent_id]


async def open_work_of_agents(
    session: AsyncSession, agent_ids: list[int]
) -> dict[int, dict[Channel, int]]:
    """Per agent, counted from the active assignments and the pending offers (an offer
    reserves its room until it is answered or runs out): the truth the load row summarises."""
    held = union_all(
        select(
            t.Assignment.agent_id.label("agent_id"), t.Assignment.channel.label("channel")
        ).where(
            among(session, t.Assignment.agent_id, agent_ids), t.Assignment.released_at.is_(None)
        ),
        select(
            t.RoutingOffer.agent_id.label("agent_id"), t.RoutingOffer.channel.label("channel")
        ).where(
            among(session, t.RoutingOffer.agent_id, agent_ids), t.RoutingOffer.status == PENDING
        ),
    ).subquery()
    found: dict[int, dict[Channel, int]] = {agent_id: {} for agent_id in agent_ids}
    for agent_id, channel, count in await session.execute(
        select(held.c.agent_id, held.c.channel, func.count()).group_by(
            held.c.agent_id, held.c.channel
        )
    ):
        found[agent_id][Channel(channel)] = int(count)
    return found


async def team_capacity_settings(
    session: AsyncSession, agent_ids: list[int]
) -> dict[int, dict[str, Any]]:
    """Per agent, the capacity of their first team (lowest id) that sets one."""
    return (await _teams_and_capacities(session, agent_ids))[1]


async def _teams_and_capacities(
    session: AsyncSession, agent_ids: list[int]
) -> tuple[dict[int, list[int]], dict[int, dict[str, Any]]]:
    """Per agent, their teams, and the capacity of their first team (lowest id) that sets
    one, in one statement."""
    teams: dict[int, list[int]] = {agent_id: [] for agent_id in agent_ids}
    capacities: dict[int, dict[str, Any]] = {}
    if not agent_ids:
        return teams, capacities
    rows = await session.execute(
        select(t.TeamMember.agent_id, t.TeamMember.team_id, t.TeamRouting.capacity)
        .outerjoin(t.TeamRouting, t.TeamRouting.team_id == t.TeamMember.team_id)
        .where(among(session, t.TeamMember.agent_id, agent_ids))
        .order_by(t.TeamMember.team_id)
    )
    for agent_id, team_id, capacity in rows:
        teams[agent_id].append(team_id)
        if capacity and agent_id not in capacities:
            capacities[agent_id] = dict(capacity)
    return teams, capacities


def capacity_for(agent: t.Agent, team_settings: Mapping[str, Any] | None) -> Capacity:
    return Capacity.from_settings(with_team_default(agent.capacity, team_settings))


async def capacity_of(session: AsyncSession, agent: t.Agent) -> Capacity:
    """The agent's capacity; what they leave unset comes from their team's."""
    teams = await team_capacity_settings(session, [agent.id])
    return capacity_for(agent, teams.get(agent.id))


def store_load(
    row: t.AgentLoad, capacity: Capacity, open_work: Mapping[Channel, int], now: datetime
) -> None:
    for name, value in load_values(row, capacity, open_work, now).items():
        setattr(row, name, value)


def load_values(
    row: t.AgentLoad, capacity: Capacity, open_work: Mapping[Channel, int], now: datetime
) -> dict[str, Any]:
    """The load row's new values for this open work."""
    return {
        "load": capacity.load(open_work),
        "open_work": {channel.value: count for channel, count in open_work.items() if count},
        "version": row.version + 1,
        "updated_at": now,
    }


async def active_assignment(session: AsyncSession, conversation_id: int) -> t.Assignment | None:
    await session.flush()
    query = (
        select(t.Assignment)
        .where(t.Assignment.conversation_id == conversation_id, t.Assignment.released_at.is_(None))
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one_or_none()


# --- building the domain's view of agents and work ------------------------------------------


async def work_for(session: AsyncSession, conversation: t.Conversation) -> Work | None:
    """What the conversation needs; None when it has no inbound channel to route on."""
    if conversation.last_inbound_channel is None:
        return None
    inbox_routing = None
    if conversation.last_inbound_inbox_id is not None:
        inbox = await session.get(t.Inbox, conversation.last_inbound_inbox_id)
        if inbox is not None:
            inbox_routing = (inbox.settings or {}).get("routing")
    customer_language = None
    if not (conversation.attributes or {}).get("language"):
        customer = await session.get(t.Customer, conversation.customer_id)
        if customer is not None:
            customer_language = (customer.attributes or {}).get("language")
    return work_from(
        conversation.last_inbound_channel,
        conversation.attributes,
        inbox_routing,
        customer_language,
    )


def work_from(
    channel: str | None,
    attributes: Mapping[str, Any] | None,
    inbox_routing: Mapping[str, Any] | None,
    customer_language: object,
) -> Work | None:
    """What a conversation needs, from its inbound channel and attributes, the routing
    settings of the inbox the customer wrote to and the customer's language attribute.

    Required skills come from the inbox (settings.routing.required_skills, e.g. a billing
    address needs billing 5) overridden by the conversation's own attributes; the language
    from the conversation's, else the customer's, "language" attribute.
    """
    if channel is None:
        return None
    attributes = attributes or {}
    required: dict[str, int] = {}
    required.update(dict((inbox_routing or {}).get("required_skills") or {}))
    required.update(dict(attributes.get("required_skills") or {}))
    language = attributes.get("language") or customer_language
    return Work(
        channel=Channel(channel),
        required_skills={str(k): int(v) for k, v in required.items()},
        min_competence=int(attributes.get("min_competence", 1)),
        language=str(language) if language else None,
    )


def _competences(agent: t.Agent) -> dict[Channel, int]:
    stored = agent.channel_competences or {}
    if not stored:
        return {channel: DEFAULT_COMPETENCE for channel in Channel}
    return {Channel(k): int(v) for k, v in stored.items() if k in Channel._value2member_map_}


def _available_channels(agent: t.Agent) -> frozenset[Channel] | None:
    listed = (agent.capacity or {}).get("channels")
    if listed is None:
        return None
    return frozenset(Channel(c) for c in listed if c in Channel._value2member_map_)


def online_agents(workspace_id: int, team_id: int | None) -> Select[t.Agent]:
    """The active agents online in the workspace, members of `team_id` when it is set: who
    routes a conversation of that team."""
    query = select(t.Agent).where(
        t.Agent.workspace_id == workspace_id,
        t.Agent.active.is_(True),
        t.Agent.presence == Presence.ONLINE.value,
    )
    if team_id is not None:
        query = query.join(t.TeamMember, t.TeamMember.agent_id == t.Agent.id).where(
            t.TeamMember.team_id == team_id
        )
    return query


async def _candidate_agents(
    session: AsyncSession, conversation: t.Conversation, only_agent_id: int | None = None
) -> list[t.Agent]:
    query = online_agents(conversation.workspace_id, conversation.team_id)
    if only_agent_id is not None:
        query = query.where(t.Agent.id == only_agent_id)
    return list((await session.execute(query.order_by(t.Agent.id))).scalars())


async def _past_contacts(
    session: AsyncSession, customer_id: int, agent_ids: list[int]
) -> dict[int, list[datetime]]:
    """When each agent handled this customer: assignments and replies they wrote."""
    found: dict[int, list[datetime]] = {agent_id: [] for agent_id in agent_ids}
    by_customer = await past_contacts_of_customers(session, {customer_id}, agent_ids)
    found.update(by_customer.get(customer_id, {}))
    return found


async def past_contacts_of_customers(
    session: AsyncSession, customer_ids: set[int], agent_ids: list[int]
) -> dict[int, dict[int, list[datetime]]]:
    """Per customer, when each of these agents handled them (assignments and replies), the
    most recent PAST_CONTACTS_LIMIT per customer on average."""
    found: dict[int, dict[int, list[datetime]]] = {}
    if not agent_ids or not customer_ids:
        return found
    limit = PAST_CONTACTS_LIMIT * len(customer_ids)
    assigned = (
        select(
            t.Conversation.customer_id.label("customer_id"),
            t.Assignment.agent_id.label("agent_id"),
            t.Assignment.assigned_at.label("at"),
        )
        .join(t.Conversation, t.Conversation.id == t.Assignment.conversation_id)
        .where(
            among(session, t.Conversation.customer_id, customer_ids),
            among(session, t.Assignment.agent_id, agent_ids),
        )
        .order_by(t.Assignment.assigned_at.desc())
        .limit(limit)
        .subquery()
    )
    replied = (
        select(
            t.Conversation.customer_id.label("customer_id"),
            t.Message.author_agent_id.label("agent_id"),
            t.Message.created_at.label("at"),
        )
        .join(t.Conversation, t.Conversation.id == t.Message.conversation_id)
        .where(
            among(session, t.Conversation.customer_id, customer_ids),
            t.Message.direction == "outbound",
            among(session, t.Message.author_agent_id, agent_ids),
        )
        .order_by(t.Message.created_at.desc())
        .limit(limit)
        .subquery()
    )
    rows = await session.execute(union_all(select(assigned), select(replied)))
    for customer_id, agent_id, at in rows:
        if agent_id is not None:
            found.setdefault(customer_id, {}).setdefault(agent_id, []).append(at)
    return found


async def agent_states(
    session: AsyncSession,
    conversation: t.Conversation,
    only_agent_id: int | None = None,
) -> tuple[list[AgentState], dict[int, t.Agent]]:
    agents = await _candidate_agents(session, conversation, only_agent_id)
    states = await states_of(session, agents, conversation.customer_id)
    return states, {a.id: a for a in agents}


async def states_of(
    session: AsyncSession, agents: list[t.Agent], customer_id: int | None
) -> list[AgentState]:
    """The domain's view of these agents; past contacts with `customer_id` when given."""
    ids = [a.id for a in agents]
    loads: dict[int, tuple[dict[str, Any], datetime]] = {}
    if ids:
        rows = await session.execute(
            select(t.AgentLoad.agent_id, t.AgentLoad.open_work, t.AgentLoad.updated_at).where(
                t.AgentLoad.agent_id.in_(ids)
            )
        )
        loads = {agent_id: (dict(work), at) for agent_id, work, at in rows}
    contacts = await _past_contacts(session, customer_id, ids) if customer_id is not None else {}
    team_capacities = await team_capacity_settings(session, ids)
    states = []
    for agent in agents:
        stored, changed_at = loads.get(agent.id, ({}, agent.created_at))
        open_work = {Channel(k): int(v) for k, v in stored.items()}
        states.append(
            agent_state(
                agent,
                open_work,
                changed_at,
                team_capacities.get(agent.id),
                contacts.get(agent.id, []),
            )
        )
    return states


def agent_state(
    agent: t.Agent,
    open_work: dict[Channel, int],
    load_changed_at: datetime,
    team_capacity: Mapping[str, Any] | None,
    past_contacts: Sequence[datetime],
) -> AgentState:
    return AgentState(
        agent_id=agent.id,
        name=agent.name,
        online=agent.presence == Presence.ONLINE.value,
        available_channels=_available_channels(agent),
        skills={str(k): int(v) for k, v in (agent.skills or {}).items()},
        competences=_competences(agent),
        languages=frozenset(agent.languages or []),
        capacity=capacity_for(agent, team_capacity),
        open_work=open_work,
        # Idle: no open work since the load last changed (their last release).
        idle_since=load_changed_at if not any(open_work.values()) else None,
        past_contacts=tuple(past_contacts),
    )


def _explain(
    states: list[AgentState],
    agents: Mapping[int, t.Agent],
    chosen_id: int,
    chosen_text: str,
    refused: Mapping[int, str],
    work: Work,
    now: datetime,
    weights: Weights,
) -> str:
    parts = [chosen_text]
    others = sorted(
        (score(s, work, now, weights) for s in states if s.agent_id not in refused),
        key=lambda c: -c.score,
    )
    runners = [c for c in others if c.agent_id != chosen_id][:3]
    if runners:
        parts.append(
            "ahead of " + ", ".join(f"{agents[c.agent_id].name} ({c.score:.2f})" for c in runners)
        )
    if refused:
        parts.append(
            "not eligible: "
            + ", ".join(f"{agents[i].name} ({why})" for i, why in sorted(refused.items())[:10])
        )
    return ". ".join(parts)


# --- claiming and releasing -----------------------------------------------------------------


def new_assignment(
    conversation: t.Conversation,
    agent: t.Agent,
    channel: Channel,
    capacity: Capacity,
    reason: str,
    mode: str,
    now: datetime,
) -> t.Assignment:
    """The assignment row (not added to the session)."""
    return t.Assignment(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        agent_id=agent.id,
        channel=channel.value,
        cost=capacity.cost(channel),
        assigned_at=now,
        released_at=None,
        reason=reason,
        mode=mode,
    )


def add_assignment(
    uow: UnitOfWork,
    conversation: t.Conversation,
    agent: t.Agent,
    channel: Channel,
    capacity: Capacity,
    reason: str,
    mode: str,
    now: datetime,
    *,
    conversation_changed: bool = True,
) -> t.Assignment:
    """The assignment row and its events; the caller holds both locks and checked room."""
    assignment = new_assignment(conversation, agent, channel, capacity, reason, mode, now)
    uow.session.add(assignment)
    conversation.assignee_id = agent.id
    if conversation_changed:
        emit_routing_update(uow, conversation)
    return assignment


def emit_routing_update(uow: UnitOfWork, conversation: t.Conversation) -> None:
    """Routing changed the conversation (assignee, team): marked so that `reconcile` (via
    on_conversation_updated) knows the assignment history is already in line with it."""
    uow.emit(
        conversation.workspace_id,
        DomainEvent(
            EventType.CONVERSATION_UPDATED,
            # Routing never changes the status: SLA clocks have nothing to do with it.
            {
                "conversation": conversation_view(conversation),
                "routing": True,
                "status_changed": False,
            },
            conversation_id=conversation.id,
        ),
    )


def emit_assignment(uow: UnitOfWork, assignment: t.Assignment, agent_name: str) -> None:
    uow.emit(
        assignment.workspace_id,
        DomainEvent(
            EventType.ASSIGNMENT_CREATED,
            {"assignment": assignment_view(assignment, agent_name)},
            conversation_id=assignment.conversation_id,
        ),
    )


async def _reserve(
    uow: UnitOfWork,
    agent: t.Agent,
    channel: Channel,
    *,
    check_capacity: bool = True,
) -> tuple[Capacity, datetime] | None:
    """Take room for one more `channel` item in the agent's load, under their load lock with
    their open work re-counted, so room is checked and taken in one step; None when they
    have none. Returns the capacity used and the time read once the lock was granted: the
    caller adds the assignment or offer row that the room is for."""
    session = uow.session
    load = await _lock_load(session, agent, uow.clock.now())
    open_work = await open_work_of(session, agent.id)
    capacity = await capacity_of(session, agent)
    if check_capacity and not capacity.can_take(open_work, channel):
        return None
    now = uow.clock.now()
    open_work[channel] = open_work.get(channel, 0) + 1
    store_load(load, capacity, open_work, now)
    return capacity, now


async def claim(
    uow: UnitOfWork,
    conversation: t.Conversation,
    agent: t.Agent,
    channel: Channel,
    reason: str,
    mode: str,
    *,
    check_capacity: bool = True,
    conversation_changed: bool = True,
) -> t.Assignment | None:
    """Assign under the agent's load lock; None when the agent has no room for it (any more).
    The conversation's routing progress (steps taken, agents passed over, a carried
    transfer note) ends with it, however it was assigned.

    The caller holds the conversation's row lock and has checked it is unassigned.
    """
    reserved = await _reserve(uow, agent, channel, check_capacity=check_capacity)
    if reserved is None:
        return None
    capacity, now = reserved
    await uow.session.execute(
        delete(t.RoutingProgress).where(t.RoutingProgress.conversation_id == conversation.id)
    )
    assignment = add_assignment(
        uow,
        conversation,
        agent,
        channel,
        capacity,
        reason,
        mode,
        now,
        conversation_changed=conversation_changed,
    )
    await uow.session.flush()
    emit_assignment(uow, assignment, agent.name)
    return assignment


async def make_offer(
    uow: UnitOfWork,
    conversation: t.Conversation,
    agent: t.Agent,
    channel: Channel,
    reason: str,
    steps: StepSettings,
) -> t.RoutingOffer | None:
    """Offer mode: reserve room with the agent (under their load lock, like a claim) and ask
    them; a durable timer withdraws the offer when it is not answered in time."""
    reserved = await _reserve(uow, agent, channel)
    if reserved is None:
        return None
    capacity, now = reserved
    offer = add_offer(uow, conversation, agent, channel, capacity, reason, steps, now)
    await uow.session.flush()
    await arm_offer(uow, offer, agent.name)
    return offer


def add_offer(
    uow: UnitOfWork,
    conversation: t.Conversation,
    agent: t.Agent,
    channel: Channel,
    capacity: Capacity,
    reason: str,
    steps: StepSettings,
    now: datetime,
) -> t.RoutingOffer:
    offer = t.RoutingOffer(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        agent_id=agent.id,
        channel=channel.value,
        cost=capacity.cost(channel),
        reason=reason,
        status=PENDING,
        offered_at=now,
        expires_at=now + timedelta(seconds=steps.offer_timeout_seconds),
        answered_at=None,
    )
    uow.session.add(offer)
    return offer


async def arm_offer(uow: UnitOfWork, offer: t.RoutingOffer, agent_name: str) -> None:
    await schedule_timer(
        uow,
        offer.workspace_id,
        kind=OFFER_TIMER,
        key=offer_timer_key(offer.id),
        fire_at=offer.expires_at,
        payload={"offer_id": offer.id},
    )
    uow.emit(
        offer.workspace_id,
        DomainEvent(
            EventType.ASSIGNMENT_OFFERED,
            {"offer": offer_view(offer, agent_name)},
            conversation_id=offer.conversation_id,
        ),
    )


async def pending_offer(session: AsyncSession, conversation_id: int) -> t.RoutingOffer | None:
    await session.flush()
    query = (
        select(t.RoutingOffer)
        .where(t.RoutingOffer.conversation_id == conversation_id, t.RoutingOffer.status == PENDING)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def end_offer(uow: UnitOfWork, offer: t.RoutingOffer, status: str) -> t.AgentLoad:
    """Close a pending offer (the caller holds the conversation's lock), freeing its room;
    returns the agent's load row, still locked."""
    session = uow.session
    agent = await session.get(t.Agent, offer.agent_id)
    assert agent is not None
    load = await _lock_load(session, agent, uow.clock.now())
    now = uow.clock.now()
    offer.status = status
    offer.answered_at = now
    await session.flush()
    store_load(load, await capacity_of(session, agent), await open_work_of(session, agent.id), now)
    await session.flush()
    return load


async def withdraw_offer(uow: UnitOfWork, conversation: t.Conversation, why: str) -> None:
    """A pending offer of this conversation is withdrawn (resolved, assigned by hand...)."""
    offer = await pending_offer(uow.session, conversation.id)
    if offer is not None:
        await close_offer(uow, offer, "withdrawn", why)


async def close_offer(uow: UnitOfWork, offer: t.RoutingOffer, status: str, why: str) -> t.AgentLoad:
    """End a pending offer before its timer fires (withdrawn, declined): its room is freed,
    its timer disarmed, and everyone told why. Returns the agent's load row, still locked."""
    load = await end_offer(uow, offer, status)
    await cancel_timer(uow, offer.workspace_id, offer_timer_key(offer.id))
    emit_offer_ended(uow, offer, why)
    return load


def emit_offer_ended(uow: UnitOfWork, offer: t.RoutingOffer, why: str) -> None:
    uow.emit(
        offer.workspace_id,
        DomainEvent(
            EventType.ASSIGNMENT_OFFER_ENDED,
            {"offer": offer_view(offer), "why": why},
            conversation_id=offer.conversation_id,
        ),
    )


async def release(uow: UnitOfWork, conversation: t.Conversation) -> t.Assignment | None:
    """End the conversation's active assignment, freeing the agent's capacity."""
    session = uow.session
    active = await active_assignment(session, conversation.id)
    if active is None:
        return None
    agent = await session.get(t.Agent, active.agent_id)
    assert agent is not None
    load = await _lock_load(session, agent, uow.clock.now())
    now = uow.clock.now()
    active.released_at = now
    await session.flush()
    capacity = await capacity_of(session, agent)
    store_load(load, capacity, await open_work_of(session, agent.id), now)
    await session.flush()
    return active


# --- routing --------------------------------------------------------------------------------


async def progress_of(session: AsyncSession, conversation_id: int) -> t.RoutingProgress | None:
    return await session.get(t.RoutingProgress, conversation_id)


def ensure_progress(
    session: AsyncSession,
    conversation: t.Conversation,
    progress: t.RoutingProgress | None,
    now: datetime,
) -> t.RoutingProgress:
    if progress is not None:
        progress.updated_at = now
        return progress
    progress = t.RoutingProgress(
        conversation_id=conversation.id,
        workspace_id=conversation.workspace_id,
        relax_level=0,
        sticky_agent_id=None,
        sticky_until=None,
        sticky_done=False,
        overflowed=False,
        passed_over=[],
        carried_reason="",
        updated_at=now,
    )
    session.add(progress)
    return progress


async def route(
    uow: UnitOfWork,
    workspace_id: int,
    conversation_id: int,
    *,
    mode: str = AUTO,
    because: str = "",
) -> RouteResult:
    """Pick and claim (or, in offer mode, offer) the best agent for a waiting conversation.

    `because` (e.g. "transferred by ...", "skill levels relaxed by 2") starts the stored
    explanation. When nobody is chosen, the next routing step is armed as a durable timer.
    """
    session = uow.session
    conversation = await lock_conversation(session, workspace_id, conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} not found")
    if conversation.status == ConversationStatus.RESOLVED.value:
        return RouteResult(None, "the conversation is resolved")
    if conversation.assignee_id is not None:
        return RouteResult(None, "the conversation already has an agent")
    work = await work_for(session, conversation)
    if work is None:
        return RouteResult(None, "the customer has not written in on any channel yet")
    offered = await pending_offer(session, conversation.id)
    if offered is not None:
        return RouteResult(None, f"offered to agent {offered.agent_id}, waiting for an answer")
    steps = await step_settings(session, workspace_id, conversation.team_id)
    progress = await progress_of(session, conversation.id)
    relax_level = progress.relax_level if progress is not None else 0
    base_work = work
    work = relaxed(work, relax_level, steps.relax_levels_per_step)
    passed = set(progress.passed_over) if progress is not None else set()
    weights = await workspace_weights(session, workspace_id)
    offer_mode = steps.offer_mode and mode in (AUTO, "queue", "transfer")
    carried = progress.carried_reason if progress is not None else ""
    prefix = "".join(f"{part}. " for part in (carried, because) if part)
    full: set[int] = set()
    why_nobody = "no agent is online"
    now = uow.clock.now()
    states, agents = await agent_states(session, conversation)
    states = [s for s in states if s.agent_id not in passed]
    sticky_done = progress is not None and progress.sticky_done
    for _attempt in range(MAX_CLAIM_ATTEMPTS):
        now = uow.clock.now()
        candidates = [s for s in states if s.agent_id not in full]
        best, refused = choose_agent(candidates, work, now, weights)
        sticky = None if sticky_done else relationship_agent(candidates, work, now, weights)
        # Only automatic routing waits: a supervisor routing by hand wants someone now.
        waits = mode == AUTO and steps.sticky_wait_seconds > 0
        if sticky is not None and not sticky.has_room and waits:
            name = agents[sticky.agent_id].name
            until = now + timedelta(seconds=steps.sticky_wait_seconds)
            if progress is not None and progress.sticky_until is not None:
                until = progress.sticky_until
            if now < until:
                progress = ensure_progress(session, conversation, progress, now)
                progress.sticky_agent_id = sticky.agent_id
                progress.sticky_until = until
                await schedule_timer(
                    uow,
                    workspace_id,
                    kind=STEP_TIMER,
                    key=step_timer_key(conversation.id),
                    fire_at=until,
                    payload={"conversation_id": conversation.id, "step": "sticky"},
                )
                await session.flush()
                return RouteResult(
                    None,
                    f"waiting up to {steps.sticky_wait_seconds} s for {name}, who handled "
                    "this customer before and is online but full",
                )
        if sticky is not None and sticky.has_room:
            [chosen_state] = [s for s in candidates if s.agent_id == sticky.agent_id]
            best = score(chosen_state, work, now, weights)
            lead = ". Preferred as this customer's relationship agent"
        else:
            lead = ""
        if best is None:
            if refused:
                why_nobody = "nobody is eligible: " + ", ".join(
                    f"{agents[i].name} ({why})" for i, why in sorted(refused.items())[:10]
                )
            break
        agent = agents[best.agent_id]
        reason = (
            prefix
            + _explain(
                candidates,
                agents,
                agent.id,
                best.explanation(agent.name),
                refused,
                work,
                now,
                weights,
            )
            + lead
        )
        chosen: t.Assignment | t.RoutingOffer | None
        if offer_mode:
            chosen = await make_offer(uow, conversation, agent, work.channel, reason, steps)
        else:
            chosen = await claim(uow, conversation, agent, work.channel, reason, mode)
        if chosen is not None:
            if isinstance(chosen, t.RoutingOffer):
                return RouteResult(None, "offered: " + reason, offer=chosen)
            return RouteResult(chosen, reason)
        # Someone else filled this agent between our look and our lock: try the next best.
        full.add(agent.id)
        why_nobody = f"{agent.name} filled up meanwhile"
    await _arm_next_step(uow, conversation, progress, base_work, steps, now)
    return RouteResult(None, prefix + why_nobody)


async def _arm_next_step(
    uow: UnitOfWork,
    conversation: t.Conversation,
    progress: t.RoutingProgress | None,
    work: Work,
    steps: StepSettings,
    now: datetime,
) -> None:
    """Nobody took the work: when it is still waiting after a while, relax or overflow.
    `work` is as the conversation asks, before any relaxation."""
    level = progress.relax_level if progress is not None else 0
    overflowed = progress.overflowed if progress is not None else False
    step = next_step(work, level, overflowed, conversation.team_id, steps)
    if step is None:
        return
    # Already armed for this step: keep its time (a customer writing again while waiting
    # must not push the escalation further out).
    armed = (
        await uow.session.execute(
            select(t.Timer.payload).where(
                t.Timer.workspace_id == conversation.workspace_id,
                t.Timer.key == step_timer_key(conversation.id),
                t.Timer.status == "armed",
            )
        )
    ).scalar_one_or_none()
    if armed is not None and armed.get("step") == step.kind:
        return
    await schedule_timer(
        uow,
        conversation.workspace_id,
        kind=STEP_TIMER,
        key=step_timer_key(conversation.id),
        fire_at=now + step.after,
        payload={"conversation_id": conversation.id, "step": step.kind},
    )


async def route_conversation(
    uow: UnitOfWork, workspace_id: int, conversation_id: int, *, mode: str = AUTO
) -> t.Assignment | None:
    """Assign the conversation to the best eligible agent with room, or leave it waiting."""
    return (await route(uow, workspace_id, conversation_id, mode=mode)).assignment


@dataclass(frozen=True, slots=True)
class WaitingRow:
    waiting: Waiting
    team_id: int | None


def no_pending_offer() -> ColumnElement[bool]:
    """The conversation is not waiting for an agent to answer an offer of it."""
    return ~(
        select(literal_column("1"))
        .where(
            t.RoutingOffer.conversation_id == t.Conversation.id,
            t.RoutingOffer.status == PENDING,
        )
        .exists()
    )


def _boost_classes() -> list[tuple[bool, list[str]]]:
    """Channels grouped by their queue boost: (listed channels, or every channel but them)."""
    boosts = QueuePolicy().channel_boost
    groups: dict[int, list[str]] = {}
    for channel, boost in boosts.items():
        groups.setdefault(boost, []).append(channel.value)
    boosted = [channel.value for channel in boosts]
    return [(True, channels) for _boost, channels in sorted(groups.items())] + [(False, boosted)]


# Fixed for the process: the queue policy's boosts are not configurable per workspace.
_BOOST_CLASSES = _boost_classes()


async def waiting_rows(
    session: AsyncSession,
    workspace_id: int,
    *,
    team_ids: list[int] | None = None,
    same_team_as: t.Conversation | None = None,
    window: int = WAITING_WINDOW,
) -> list[WaitingRow]:
    """The head of the queue: at least the first `window` waiting conversations in queue order.

    Queue order is effective priority (base priority plus aging), then channel boost, then
    age. Within one base priority and one boost, an older conversation always comes first;
    so the oldest `window` of each such group together hold the first `window` overall, however
    long the queue (an urgent conversation is not hidden behind older normal ones).
    """
    query = select(
        t.Conversation.id,
        t.Conversation.priority,
        t.Conversation.last_inbound_channel,
        t.Conversation.last_inbound_at,
        t.Conversation.created_at,
        t.Conversation.team_id,
    ).where(
        t.Conversation.workspace_id == workspace_id,
        t.Conversation.status == ConversationStatus.OPEN.value,
        t.Conversation.assignee_id.is_(None),
        t.Conversation.last_inbound_channel.is_not(None),
        no_pending_offer(),
    )
    if team_ids is not None:
        query = query.where(
            or_(t.Conversation.team_id.is_(None), t.Conversation.team_id.in_(team_ids))
        )
    if same_team_as is not None:
        team = same_team_as.team_id
        query = query.where(
            t.Conversation.team_id.is_(None) if team is None else t.Conversation.team_id == team
        )
    groups = []
    for priority in Priority:
        for listed, channels in _BOOST_CLASSES:
            in_class = t.Conversation.last_inbound_channel.in_(channels)
            group = (
                query.where(
                    t.Conversation.priority == priority.value, in_class if listed else ~in_class
                )
                .order_by(t.Conversation.last_inbound_at, t.Conversation.id)
                .limit(window)
                .subquery()
            )
            groups.append(select(group))
    rows = await session.execute(union_all(*groups))
    return [
        WaitingRow(Waiting(cid, Priority(priority), Channel(channel), since or created), team)
        for cid, priority, channel, since, created, team in rows
        if channel is not None
    ]


async def waiting_work(
    session: AsyncSession,
    workspace_id: int,
    *,
    team_ids: list[int] | None = None,
    same_team_as: t.Conversation | None = None,
) -> list[Waiting]:
    rows = await waiting_rows(session, workspace_id, team_ids=team_ids, same_team_as=same_team_as)
    return [row.waiting for row in rows]


async def reconcile(
    uow: UnitOfWork, workspace_id: int, conversation_id: int, *, from_inbound: bool
) -> None:
    """Bring the assignment history in line with the conversation as it now is.

    Resolved or handed to someone else: the active assignment ends. An assignee without an
    active assignment (set by hand, or kept when a resolved matter re-opens) gets one; in auto
    mode only with room for it: a by-hand assignment over capacity is refused, a re-opened
    matter over capacity goes back to the queue.
    """
    session = uow.session
    # The use-case that raised the event holds the conversation's row lock already (it
    # changed the row), and assignments of a conversation change only under that lock:
    # the common "nothing to do" needs no further locking.
    conversation = await session.get(t.Conversation, conversation_id)
    if conversation is None or conversation.workspace_id != workspace_id:
        return
    if await _consistent(session, conversation):
        if (
            conversation.assignee_id is None
            and conversation.status == ConversationStatus.RESOLVED.value
        ):
            await withdraw_offer(uow, conversation, "the conversation was resolved")
        return
    conversation = await lock_conversation(session, workspace_id, conversation_id)
    if conversation is None:
        return
    await withdraw_offer(uow, conversation, "the conversation was assigned otherwise")
    active = await active_assignment(session, conversation.id)
    resolved = conversation.status == ConversationStatus.RESOLVED.value
    wanted = None if resolved else conversation.assignee_id
    if active is not None and active.agent_id == wanted:
        return
    freed: int | None = None
    if active is not None:
        await release(uow, conversation)
        freed = active.agent_id
    auto = await is_auto(session, workspace_id)
    if wanted is not None:
        agent = await session.get(t.Agent, wanted)
        work = await work_for(session, conversation)
        channel = work.channel if work is not None else Channel.API
        assert agent is not None
        mode = "reopen" if from_inbound else MANUAL
        reason = (
            f"{agent.name}: kept the conversation when the customer wrote again"
            if from_inbound
            else f"{agent.name}: assigned by hand"
        )
        # The conversation already names this assignee: only the history is new.
        claimed = await claim(
            uow,
            conversation,
            agent,
            channel,
            reason,
            mode,
            check_capacity=auto,
            conversation_changed=False,
        )
        if claimed is None:
            if not from_inbound:
                raise Conflict(
                    f"{agent.name} is at capacity; resolve or hand over a conversation first"
                )
            conversation.assignee_id = None
            await session.flush()
            emit_routing_update(uow, conversation)
    if freed is not None and auto:
        from threadline.routing.fill import request_fill  # it builds on this module

        await request_fill(uow, workspace_id, freed)


async def _consistent(session: AsyncSession, conversation: t.Conversation) -> bool:
    active = await active_assignment(session, conversation.id)
    resolved = conversation.status == ConversationStatus.RESOLVED.value
    wanted = None if resolved else conversation.assignee_id
    return (active.agent_id if active is not None else None) == wanted


# --- reading --------------------------------------------------------------------------------


def offer_view(o: t.RoutingOffer, agent_name: str | None = None) -> dict[str, Any]:
    return {
        "id": o.id,
        "conversation_id": o.conversation_id,
        "agent_id": o.agent_id,
        "agent_name": agent_name,
        "channel": o.channel,
        # The room the offer holds, at the capacity the agent had when it was made.
        "cost": o.cost,
        "status": o.status,
        "reason": o.reason,
        "offered_at": iso(o.offered_at),
        "expires_at": iso(o.expires_at),
        "answered_at": iso(o.answered_at),
    }


def assignment_view(a: t.Assignment, agent_name: str | None = None) -> dict[str, Any]:
    return {
        "id": a.id,
        "conversation_id": a.conversation_id,
        "agent_id": a.agent_id,
        "agent_name": agent_name,
        "channel": a.channel,
        "cost": a.cost,
        "mode": a.mode,
        "reason": a.reason,
        "assigned_at": iso(a.assigned_at),
        "released_at": iso(a.released_at),
    }
