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

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.domain.agent_profile import Presence
from threadline.domain.channels import Channel
from threadline.domain.conversations import ConversationStatus, Priority
from threadline.domain.errors import Conflict, NotFound
from threadline.domain.events import DomainEvent, EventType
from threadline.domain.routing.capacity import Capacity
from threadline.domain.routing.queue import QueuePolicy, Waiting, queue_order
from threadline.domain.routing.scoring import AgentState, Weights, Work, choose_agent, score
from threadline.services.unit_of_work import UnitOfWork
from threadline.services.views import conversation_view, iso

MANUAL = "manual"
AUTO = "auto"
MODES = (MANUAL, AUTO)
# An agent without any channel competences configured counts as this good on every channel,
# so that switching a workspace to auto mode routes before anyone has tuned profiles.
DEFAULT_COMPETENCE = 5
# How many other agents a failed claim (someone else filled them first) may fall back to.
MAX_CLAIM_ATTEMPTS = 3
# When an agent comes online or frees capacity: how much waiting work they are offered,
# and how far down the queue we look for work they are eligible for.
WAITING_BATCH = 5
WAITING_SCAN = 20
WAITING_WINDOW = 100
PAST_CONTACTS_LIMIT = 500


@dataclass(frozen=True, slots=True)
class RouteResult:
    assignment: t.Assignment | None
    # Why this agent, or why nobody.
    explanation: str


# --- settings -------------------------------------------------------------------------------


async def stored_settings(session: AsyncSession, workspace_id: int) -> t.RoutingSettings | None:
    return await session.get(t.RoutingSettings, workspace_id)


async def is_auto(session: AsyncSession, workspace_id: int) -> bool:
    row = await stored_settings(session, workspace_id)
    return row is not None and row.mode == AUTO


WEIGHT_FIELDS = ("affinity", "skill", "competence", "free_capacity", "idle")


def weights_from(stored: Mapping[str, Any]) -> Weights:
    from datetime import timedelta

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
    query = (
        select(t.AgentLoad)
        .where(t.AgentLoad.agent_id == agent.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(query)).scalar_one_or_none()
    if row is not None:
        return row
    # First claim on this agent: create the row; a concurrent creator makes ours a no-op.
    values = {
        "agent_id": agent.id,
        "workspace_id": agent.workspace_id,
        "load": 0,
        "open_work": {},
        "version": 0,
        "updated_at": now,
    }
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(pg_insert(t.AgentLoad).values(values).on_conflict_do_nothing())
    else:
        await session.execute(sqlite_insert(t.AgentLoad).values(values).on_conflict_do_nothing())
    return (await session.execute(query)).scalar_one()


async def open_work_of(session: AsyncSession, agent_id: int) -> dict[Channel, int]:
    """Counted from the active assignments: the truth the load row summarises."""
    rows = await session.execute(
        select(t.Assignment.channel, func.count())
        .where(t.Assignment.agent_id == agent_id, t.Assignment.released_at.is_(None))
        .group_by(t.Assignment.channel)
    )
    return {Channel(channel): int(count) for channel, count in rows}


def _store_load(
    row: t.AgentLoad, capacity: Capacity, open_work: Mapping[Channel, int], now: datetime
) -> None:
    row.load = capacity.load(open_work)
    row.open_work = {channel.value: count for channel, count in open_work.items() if count}
    row.version = row.version + 1
    row.updated_at = now


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
    """What the conversation needs; None when it has no inbound channel to route on.

    Required skills come from the inbox the customer wrote to (settings.routing.required_skills,
    e.g. a billing address needs billing 5) overridden by the conversation's own attributes;
    the language from the conversation's, else the customer's, "language" attribute.
    """
    if conversation.last_inbound_channel is None:
        return None
    attributes = conversation.attributes or {}
    required: dict[str, int] = {}
    if conversation.last_inbound_inbox_id is not None:
        inbox = await session.get(t.Inbox, conversation.last_inbound_inbox_id)
        if inbox is not None:
            routing = dict((inbox.settings or {}).get("routing") or {})
            required.update(dict(routing.get("required_skills") or {}))
    required.update(dict(attributes.get("required_skills") or {}))
    language = attributes.get("language")
    if not language:
        customer = await session.get(t.Customer, conversation.customer_id)
        language = (customer.attributes or {}).get("language") if customer is not None else None
    return Work(
        channel=Channel(conversation.last_inbound_channel),
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


async def _candidate_agents(
    session: AsyncSession, conversation: t.Conversation, only_agent_id: int | None = None
) -> list[t.Agent]:
    query = select(t.Agent).where(
        t.Agent.workspace_id == conversation.workspace_id,
        t.Agent.active.is_(True),
        t.Agent.presence == Presence.ONLINE.value,
    )
    if conversation.team_id is not None:
        query = query.join(t.TeamMember, t.TeamMember.agent_id == t.Agent.id).where(
            t.TeamMember.team_id == conversation.team_id
        )
    if only_agent_id is not None:
        query = query.where(t.Agent.id == only_agent_id)
    return list((await session.execute(query.order_by(t.Agent.id))).scalars())


async def _past_contacts(
    session: AsyncSession, customer_id: int, agent_ids: list[int]
) -> dict[int, list[datetime]]:
    """When each agent handled this customer: assignments and replies they wrote."""
    found: dict[int, list[datetime]] = {agent_id: [] for agent_id in agent_ids}
    if not agent_ids:
        return found
    assigned = await session.execute(
        select(t.Assignment.agent_id, t.Assignment.assigned_at)
        .join(t.Conversation, t.Conversation.id == t.Assignment.conversation_id)
        .where(t.Conversation.customer_id == customer_id, t.Assignment.agent_id.in_(agent_ids))
        .order_by(t.Assignment.assigned_at.desc())
        .limit(PAST_CONTACTS_LIMIT)
    )
    replied = await session.execute(
        select(t.Message.author_agent_id, t.Message.created_at)
        .join(t.Conversation, t.Conversation.id == t.Message.conversation_id)
        .where(
            t.Conversation.customer_id == customer_id,
            t.Message.direction == "outbound",
            t.Message.author_agent_id.in_(agent_ids),
        )
        .order_by(t.Message.created_at.desc())
        .limit(PAST_CONTACTS_LIMIT)
    )
    for agent_id, at in [*assigned, *replied]:
        if agent_id is not None:
            found[agent_id].append(at)
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
    states = []
    for agent in agents:
        stored, changed_at = loads.get(agent.id, ({}, agent.created_at))
        open_work = {Channel(k): int(v) for k, v in stored.items()}
        states.append(
            AgentState(
                agent_id=agent.id,
                name=agent.name,
                online=agent.presence == Presence.ONLINE.value,
                available_channels=_available_channels(agent),
                skills={str(k): int(v) for k, v in (agent.skills or {}).items()},
                competences=_competences(agent),
                languages=frozenset(agent.languages or []),
                capacity=Capacity.from_settings(agent.capacity or {}),
                open_work=open_work,
                # Idle: no open work since the load last changed (their last release).
                idle_since=changed_at if not any(open_work.values()) else None,
                past_contacts=tuple(contacts.get(agent.id, [])),
            )
        )
    return states


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

    The caller holds the conversation's row lock and has checked it is unassigned.
    """
    session = uow.session
    load = await _lock_load(session, agent, uow.clock.now())
    open_work = await open_work_of(session, agent.id)
    capacity = Capacity.from_settings(agent.capacity or {})
    if check_capacity and not capacity.can_take(open_work, channel):
        return None
    now = uow.clock.now()
    assignment = t.Assignment(
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
    session.add(assignment)
    conversation.assignee_id = agent.id
    open_work[channel] = open_work.get(channel, 0) + 1
    _store_load(load, capacity, open_work, now)
    await session.flush()
    if conversation_changed:
        uow.emit(
            conversation.workspace_id,
            DomainEvent(
                EventType.CONVERSATION_UPDATED,
                {"conversation": conversation_view(conversation), "routing": True},
                conversation_id=conversation.id,
            ),
        )
    uow.emit(
        conversation.workspace_id,
        DomainEvent(
            EventType.ASSIGNMENT_CREATED,
            {"assignment": assignment_view(assignment, agent.name)},
            conversation_id=conversation.id,
        ),
    )
    return assignment


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
    capacity = Capacity.from_settings(agent.capacity or {})
    _store_load(load, capacity, await open_work_of(session, agent.id), now)
    await session.flush()
    return active


# --- routing --------------------------------------------------------------------------------


async def route(
    uow: UnitOfWork, workspace_id: int, conversation_id: int, *, mode: str = AUTO
) -> RouteResult:
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
    weights = await workspace_weights(session, workspace_id)
    full: set[int] = set()
    why_nobody = "no agent is online"
    for _attempt in range(MAX_CLAIM_ATTEMPTS):
        now = uow.clock.now()
        states, agents = await agent_states(session, conversation)
        states = [s for s in states if s.agent_id not in full]
        best, refused = choose_agent(states, work, now, weights)
        if best is None:
            if refused:
                why_nobody = "nobody is eligible: " + ", ".join(
                    f"{agents[i].name} ({why})" for i, why in sorted(refused.items())[:10]
                )
            break
        agent = agents[best.agent_id]
        reason = _explain(
            states, agents, agent.id, best.explanation(agent.name), refused, work, now, weights
        )
        assignment = await claim(uow, conversation, agent, work.channel, reason, mode)
        if assignment is not None:
            return RouteResult(assignment, reason)
        # Someone else filled this agent between our look and our lock: try the next best.
        full.add(agent.id)
        why_nobody = f"{agent.name} filled up meanwhile"
    return RouteResult(None, why_nobody)


async def route_conversation(
    uow: UnitOfWork, workspace_id: int, conversation_id: int, *, mode: str = AUTO
) -> t.Assignment | None:
    """Assign the conversation to the best eligible agent with room, or leave it waiting."""
    return (await route(uow, workspace_id, conversation_id, mode=mode)).assignment


async def offer_waiting_work(
    uow: UnitOfWork, workspace_id: int, agent_id: int, limit: int = WAITING_BATCH
) -> int:
    """An agent came online or freed capacity: give them the oldest waiting work they may take.

    Conversations another router holds are skipped, not waited for (no lock cycles).
    """
    session = uow.session
    if not await is_auto(session, workspace_id):
        return 0
    agent = await session.get(t.Agent, agent_id)
    if agent is None or not agent.active or agent.presence != Presence.ONLINE.value:
        return 0
    team_ids = list(
        (
            await session.execute(
                select(t.TeamMember.team_id).where(t.TeamMember.agent_id == agent_id)
            )
        ).scalars()
    )
    now = uow.clock.now()
    waiting = await waiting_work(session, workspace_id, team_ids=team_ids)
    weights = await workspace_weights(session, workspace_id)
    assigned = 0
    # The agent's state is built once (eligibility needs no history with each customer) and
    # kept current as they take work; work they have no room for is passed over unlocked.
    [state] = await states_of(session, [agent], None)
    cheapest = min(state.capacity.cost(channel) for channel in Channel)
    for item in queue_order(waiting, now, QueuePolicy())[:WAITING_SCAN]:
        if assigned >= limit or state.capacity.load(state.open_work) + cheapest > (
            state.capacity.budget
        ):
            break
        if not state.capacity.can_take(state.open_work, item.channel):
            continue
        conversation = await lock_conversation(
            session, workspace_id, item.conversation_id, skip_locked=True
        )
        if (
            conversation is None
            or conversation.assignee_id is not None
            or conversation.status != ConversationStatus.OPEN.value
        ):
            continue
        work = await work_for(session, conversation)
        if work is None:
            continue
        best, _refused = choose_agent([state], work, now, weights)
        if best is None:
            continue
        reason = f"next in the queue when {agent.name} had room. " + best.explanation(agent.name)
        if await claim(uow, conversation, agent, work.channel, reason, "queue") is None:
            break
        open_work = dict(state.open_work)
        open_work[work.channel] = open_work.get(work.channel, 0) + 1
        state = replace(state, open_work=open_work, idle_since=None)
        assigned += 1
    return assigned


async def waiting_work(
    session: AsyncSession,
    workspace_id: int,
    *,
    team_ids: list[int] | None = None,
    same_team_as: t.Conversation | None = None,
) -> list[Waiting]:
    query = select(
        t.Conversation.id,
        t.Conversation.priority,
        t.Conversation.last_inbound_channel,
        t.Conversation.last_inbound_at,
        t.Conversation.created_at,
    ).where(
        t.Conversation.workspace_id == workspace_id,
        t.Conversation.status == ConversationStatus.OPEN.value,
        t.Conversation.assignee_id.is_(None),
        t.Conversation.last_inbound_channel.is_not(None),
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
    rows = await session.execute(
        query.order_by(t.Conversation.last_inbound_at, t.Conversation.id).limit(WAITING_WINDOW)
    )
    return [
        Waiting(cid, Priority(priority), Channel(channel), since or created)
        for cid, priority, channel, since, created in rows
        if channel is not None
    ]


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
        return
    conversation = await lock_conversation(session, workspace_id, conversation_id)
    if conversation is None:
        return
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
            uow.emit(
                workspace_id,
                DomainEvent(
                    EventType.CONVERSATION_UPDATED,
                    {"conversation": conversation_view(conversation), "routing": True},
                    conversation_id=conversation.id,
                ),
            )
    if freed is not None and auto:
        await offer_waiting_work(uow, workspace_id, freed)


async def _consistent(session: AsyncSession, conversation: t.Conversation) -> bool:
    active = await active_assignment(session, conversation.id)
    resolved = conversation.status == ConversationStatus.RESOLVED.value
    wanted = None if resolved else conversation.assignee_id
    return (active.agent_id if active is not None else None) == wanted


# --- reading --------------------------------------------------------------------------------


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
