"""Who could take the work: the online agents of a conversation's team and the domain's view
of each (skills, competences, languages, capacity with the team default, open work, past
contacts with the customer)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from threadline.adapters.db import tables as t
from threadline.adapters.db.id_lists import among
from threadline.domain.agent_profile import Presence
from threadline.domain.channels import Channel
from threadline.domain.routing.capacity import Capacity, with_team_default
from threadline.domain.routing.scoring import AgentState

# An agent without any channel competences configured counts as this good on every channel,
# so that switching a workspace to auto mode routes before anyone has tuned profiles.
DEFAULT_COMPETENCE = 5


PAST_CONTACTS_LIMIT = 500


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
    assigned = _latest_contacts(
        t.Assignment.agent_id,
        t.Assignment.assigned_at,
        t.Assignment.conversation_id,
        among(session, t.Conversation.customer_id, customer_ids),
        among(session, t.Assignment.agent_id, agent_ids),
        limit=limit,
    )
    replied = _latest_contacts(
        t.Message.author_agent_id,
        t.Message.created_at,
        t.Message.conversation_id,
        among(session, t.Conversation.customer_id, customer_ids),
        t.Message.direction == "outbound",
        among(session, t.Message.author_agent_id, agent_ids),
        limit=limit,
    )
    rows = await session.execute(union_all(select(assigned), select(replied)))
    for customer_id, agent_id, at in rows:
        if agent_id is not None:
            found.setdefault(customer_id, {}).setdefault(agent_id, []).append(at)
    return found


def _latest_contacts(
    agent: QueryableAttribute[Any],
    at: QueryableAttribute[datetime],
    conversation_id: QueryableAttribute[int],
    *conditions: ColumnElement[bool],
    limit: int,
) -> Subquery:
    """(customer_id, agent_id, at) of the newest `limit` rows where an agent handled one of
    the customer's conversations, from one table (assignments or replies)."""
    return (
        select(
            t.Conversation.customer_id.label("customer_id"),
            agent.label("agent_id"),
            at.label("at"),
        )
        .join(t.Conversation, t.Conversation.id == conversation_id)
        .where(*conditions)
        .order_by(at.desc())
        .limit(limit)
        .subquery()
    )


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


async def team_capacity_settings(
    session: AsyncSession, agent_ids: list[int]
) -> dict[int, dict[str, Any]]:
    """Per agent, the capacity of their first team (lowest id) that sets one."""
    return (await teams_and_capacities(session, agent_ids))[1]


async def teams_and_capacities(
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
