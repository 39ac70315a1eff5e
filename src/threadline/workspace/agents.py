"""Agents: profiles (name, photo, skills, channel competences, languages, capacity),
presence and roles.

Who changes what: an agent changes how they are shown (name, photo) and their presence.
What routing weighs (skills, channel competences, languages, capacity with its per-channel
limits) decides who is offered which work, so supervisors and admins set it, for anyone.
Roles, deactivation and other agents' names and photos are an admin's. Team membership
and team routing defaults are admin-only too (workspace/teams.py, routing_queries.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.adapters.db.engine import on_postgresql
from threadline.adapters.db.id_lists import among
from threadline.audit import record_change
from threadline.core.lookups import get_scoped, list_scoped
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import agent_view
from threadline.domain.agent_profile import (
    InvalidProfile,
    Presence,
    check_channel_competences,
    check_levels,
)
from threadline.domain.errors import Forbidden, NotFound
from threadline.domain.events import AgentUpdated
from threadline.domain.routing.capacity import check_capacity_settings
from threadline.domain.security.access import Principal, Role, require_role
from threadline.workspace.create import create_agent

# What an agent may change about themselves.
SELF_EDITABLE = frozenset({"name", "photo_url", "presence"})
# What routing uses: supervisors and admins set it, for any agent.
ROUTING_FIELDS = frozenset({"skills", "channel_competences", "languages", "capacity"})
ADMIN_ONLY = frozenset({"role", "active"})


@dataclass(frozen=True, slots=True)
class NewAgent:
    email: str
    name: str
    role: Role
    password: str | None = None
    photo_url: str | None = None
    skills: dict[str, int] | None = None
    channel_competences: dict[str, int] | None = None
    languages: list[str] | None = None
    capacity: dict[str, Any] | None = None


async def team_ids_of(session: AsyncSession, agent_ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {agent_id: [] for agent_id in agent_ids}
    if agent_ids:
        rows = await session.execute(
            select(t.TeamMember.agent_id, t.TeamMember.team_id).where(
                among(session, t.TeamMember.agent_id, agent_ids)
            )
        )
        for agent_id, team_id in rows:
            found[agent_id].append(team_id)
    return found


async def list_agents(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
    agents = await list_scoped(session, t.Agent, principal.workspace_id, t.Agent.name, t.Agent.id)
    teams = await team_ids_of(session, [a.id for a in agents])
    return [agent_view(a, teams[a.id]) for a in agents]


async def show_agent(session: AsyncSession, principal: Principal, agent_id: int) -> dict[str, Any]:
    agent = await get_scoped(session, t.Agent, principal.workspace_id, agent_id)
    teams = await team_ids_of(session, [agent.id])
    return agent_view(agent, teams[agent.id])


def emit_agent_updated(
    uow: UnitOfWork, agent: t.Agent, team_ids: list[int], why: str | None = None
) -> None:
    uow.emit(agent.workspace_id, AgentUpdated(agent_view(agent, team_ids), why))


async def add_agent(uow: UnitOfWork, principal: Principal, new: NewAgent) -> t.Agent:
    require_role(principal, Role.ADMIN)
    if new.role is Role.INTEGRATION:
        raise InvalidProfile("integration is the role of API keys, not of agents")
    agent = await create_agent(
        uow,
        principal.workspace_id,
        email=new.email,
        name=new.name,
        role=new.role,
        password=new.password,
        photo_url=new.photo_url,
        skills=check_levels("skill", new.skills or {}),
        channel_competences=check_channel_competences(new.channel_competences or {}),
        languages=new.languages,
        capacity=check_capacity_settings(new.capacity or {}),
    )
    emit_agent_updated(uow, agent, [])
    return agent


def _check_may_change(principal: Principal, agent_id: int, fields: set[str]) -> None:
    is_self = principal.agent_id == agent_id
    if is_self and fields & ADMIN_ONLY:
        # Nobody changes their own role or deactivates themselves: a workspace would
        # otherwise lose its last admin by accident.
        raise Forbidden("you cannot change your own role or deactivate yourself")
    if principal.role is Role.ADMIN:
        return
    if principal.role is Role.SUPERVISOR:
        allowed = ROUTING_FIELDS | SELF_EDITABLE if is_self else ROUTING_FIELDS
    elif is_self:
        allowed = SELF_EDITABLE
    else:
        raise Forbidden("only an admin can change another agent")
    not_allowed = sorted(fields - allowed)
    if not_allowed:
        who = "a supervisor or an admin" if set(not_allowed) <= ROUTING_FIELDS else "an admin"
        raise Forbidden(f"only {who} can change {', '.join(not_allowed)}")


async def update_agent(
    uow: UnitOfWork, principal: Principal, agent_id: int, changes: dict[str, Any]
) -> t.Agent:
    """`changes` holds only the fields to set; a field missing from it is left alone."""
    if set(changes) == {"presence"}:
        return await _set_presence(uow, principal, agent_id, Presence(changes["presence"]))
    session = uow.session
    agent = await get_scoped(session, t.Agent, principal.workspace_id, agent_id, lock=True)
    _check_may_change(principal, agent.id, set(changes))
    for name, value in changes.items():
        if name == "skills":
            value = check_levels("skill", value)
        elif name == "channel_competences":
            value = check_channel_competences(value)
        elif name == "capacity":
            value = check_capacity_settings(value or {})
        elif name == "presence":
            value = Presence(value).value
        elif name == "role":
            role = Role(value)
            if role is Role.INTEGRATION:
                raise InvalidProfile("integration is the role of API keys, not of agents")
            value = role.value
        elif name == "name" and not str(value).strip():
            raise InvalidProfile("an agent needs a name")
        elif name not in SELF_EDITABLE | ROUTING_FIELDS | ADMIN_ONLY:
            raise InvalidProfile(f"{name!r} is not a field of an agent's profile")
        setattr(agent, name, value)
    if changes.get("active") is False:
        # Nobody offers work to, or waits for, someone who has left.
        agent.presence = Presence.OFFLINE.value
    await session.flush()
    teams = await team_ids_of(session, [agent.id])
    emit_agent_updated(uow, agent, teams[agent.id])
    return agent


# Built once: the most frequent write of all (see _set_presence). The session is new, so
# nothing in it needs synchronising with the change.
_SET_PRESENCE = (
    update(t.Agent)
    .where(t.Agent.id == bindparam("agent_id"), t.Agent.workspace_id == bindparam("in_workspace"))
    .values(presence=bindparam("new_presence"))
    .returning(t.Agent)
    .execution_options(populate_existing=True, synchronize_session=False)
)
# PostgreSQL: with the agent's teams.
_SET_PRESENCE_WITH_TEAMS = _SET_PRESENCE.returning(
    select(func.array_agg(t.TeamMember.team_id))
    .where(t.TeamMember.agent_id == t.Agent.id)
    .scalar_subquery()
)


async def _set_presence(
    uow: UnitOfWork, principal: Principal, agent_id: int, presence: Presence
) -> t.Agent:
    """Only the presence changes (the most frequent change of all, at every shift start and
    break): the row updated and read back in one statement, with the agent's teams on
    PostgreSQL, instead of a locked read, an update and a read of the teams."""
    _check_may_change(principal, agent_id, {"presence"})
    session = uow.session
    postgresql = on_postgresql(session)
    query = _SET_PRESENCE_WITH_TEAMS if postgresql else _SET_PRESENCE
    params = {
        "agent_id": agent_id,
        "in_workspace": principal.workspace_id,
        "new_presence": presence.value,
    }
    row = (await session.execute(query, params)).one_or_none()
    if row is None:
        raise NotFound(f"agent {agent_id} not found")
    agent: t.Agent = row[0]
    if postgresql:
        # The query's second column (the row's static type knows only the first).
        teams = sorted(cast(Any, row)[1] or [])
    else:
        teams = (await team_ids_of(session, [agent.id]))[agent.id]
    # One statement changed it, out of the ORM's sight: its audit entry is written here.
    await record_change(
        session,
        agent.workspace_id,
        "agent.updated",
        "agent",
        str(agent.id),
        after={"presence": presence.value},
    )
    emit_agent_updated(uow, agent, teams)
    return agent


async def set_own_presence(uow: UnitOfWork, principal: Principal, presence: Presence) -> t.Agent:
    if principal.agent_id is None:
        raise Forbidden("presence belongs to signed-in agents, not API keys")
    return await update_agent(uow, principal, principal.agent_id, {"presence": presence.value})
