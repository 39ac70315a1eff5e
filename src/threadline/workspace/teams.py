"""Teams: groups of agents that conversations and tasks can be routed to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_scoped, list_scoped, name_taken
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import agent_view, team_view
from threadline.domain.errors import Conflict, DomainError, NotFound
from threadline.domain.events import AgentUpdated
from threadline.domain.security.access import Principal, Role, require_role
from threadline.workspace.agents import team_ids_of


async def member_ids_of(session: AsyncSession, team_ids: list[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {team_id: [] for team_id in team_ids}
    if team_ids:
        rows = await session.execute(
            select(t.TeamMember.team_id, t.TeamMember.agent_id).where(
                t.TeamMember.team_id.in_(team_ids)
            )
        )
        for team_id, agent_id in rows:
            found[team_id].append(agent_id)
    return found


async def list_teams(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
    teams = await list_scoped(session, t.Team, principal.workspace_id, t.Team.name)
    members = await member_ids_of(session, [team.id for team in teams])
    return [team_view(team, members[team.id]) for team in teams]


async def _check_name_free(
    session: AsyncSession, workspace_id: int, name: str, except_id: int | None = None
) -> str:
    name = name.strip()
    if not name:
        raise DomainError("a team needs a name")
    if await name_taken(session, t.Team, workspace_id, name, except_id):
        raise Conflict(f"a team named {name!r} exists already in this workspace")
    return name


async def create_team(uow: UnitOfWork, principal: Principal, name: str) -> t.Team:
    require_role(principal, Role.ADMIN)
    session = uow.session
    team = t.Team(
        workspace_id=principal.workspace_id,
        name=await _check_name_free(session, principal.workspace_id, name),
        created_at=uow.clock.now(),
    )
    session.add(team)
    await session.flush()
    return team


async def rename_team(uow: UnitOfWork, principal: Principal, team_id: int, name: str) -> t.Team:
    session = uow.session
    require_role(principal, Role.ADMIN)
    team = await get_scoped(session, t.Team, principal.workspace_id, team_id, lock=True)
    team.name = await _check_name_free(session, principal.workspace_id, name, team.id)
    await session.flush()
    return team


async def set_members(
    uow: UnitOfWork, principal: Principal, team_id: int, agent_ids: list[int]
) -> list[int]:
    """Makes the team's members exactly `agent_ids`; every agent whose teams changed is
    announced, so routing and the agents' screens follow at once."""
    session = uow.session
    require_role(principal, Role.ADMIN)
    team = await get_scoped(session, t.Team, principal.workspace_id, team_id, lock=True)
    wanted = set(agent_ids)
    found = set(
        (
            await session.execute(
                select(t.Agent.id).where(
                    t.Agent.workspace_id == principal.workspace_id, t.Agent.id.in_(wanted)
                )
            )
        ).scalars()
    )
    missing = sorted(wanted - found)
    if missing:
        raise NotFound(f"agents not found: {', '.join(map(str, missing))}")
    current = set((await member_ids_of(session, [team.id]))[team.id])
    removed, added = current - wanted, wanted - current
    if removed:
        await session.execute(
            delete(t.TeamMember).where(
                t.TeamMember.team_id == team.id, t.TeamMember.agent_id.in_(removed)
            )
        )
    for agent_id in sorted(added):
        session.add(
            t.TeamMember(team_id=team.id, agent_id=agent_id, workspace_id=principal.workspace_id)
        )
    await session.flush()
    changed = sorted(removed | added)
    teams = await team_ids_of(session, changed)
    for agent_id in changed:
        agent = await get_scoped(session, t.Agent, principal.workspace_id, agent_id)
        uow.emit(
            principal.workspace_id,
            AgentUpdated(agent_view(agent, teams[agent_id])),
        )
    return sorted(wanted)
