"""Agents' load: the lock order every claim follows, and room checked and taken in one step.

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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.adapters.db.id_lists import among
from threadline.adapters.db.inserts import insert_ignoring_conflict
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.channels import Channel
from threadline.domain.routing.capacity import Capacity
from threadline.domain.routing.scoring import AgentState
from threadline.routing.candidates import agent_state, capacity_of, teams_and_capacities
from threadline.workspace.create import empty_load

# An offer's status while it waits for an answer: it holds the agent's room meanwhile.
PENDING = "pending"


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


async def lock_load(session: AsyncSession, agent: t.Agent, now: datetime) -> t.AgentLoad:
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
    teams, team_capacities = await teams_and_capacities(session, ids)
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


async def reserve_room(
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
    load = await lock_load(session, agent, uow.clock.now())
    open_work = await open_work_of(session, agent.id)
    capacity = await capacity_of(session, agent)
    if check_capacity and not capacity.can_take(open_work, channel):
        return None
    now = uow.clock.now()
    open_work[channel] = open_work.get(channel, 0) + 1
    store_load(load, capacity, open_work, now)
    return capacity, now


async def open_assignment_counts(session: AsyncSession, workspace_id: int) -> dict[int, int]:
    """Per agent of the workspace, the conversations assigned to them and not yet released
    (agents with none are left out), as the supervisors' queue page shows them."""
    counts = await session.execute(
        select(t.Assignment.agent_id, func.count())
        .where(
            t.Assignment.workspace_id == workspace_id,
            t.Assignment.released_at.is_(None),
        )
        .group_by(t.Assignment.agent_id)
    )
    return {agent_id: count for agent_id, count in counts}
