"""Teams of agents."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import Field

from threadline.core.views import team_view
from threadline.entrypoints.api.deps import AdminDep, PrincipalDep, RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import RowId, StrictBody
from threadline.workspace import create_team, list_teams, rename_team, set_members

router = APIRouter(prefix="/api/v1/teams", tags=["teams"])


class TeamBody(StrictBody):
    name: str = Field(min_length=1, max_length=200)


class MembersBody(StrictBody):
    agent_ids: list[RowId] = Field(max_length=1000)


@router.get("")
async def get_teams(principal: PrincipalDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    async with runtime.sessionmaker() as session:
        return await list_teams(session, principal)


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(409))
async def post_team(body: TeamBody, principal: AdminDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.uow() as uow:
        team = await create_team(uow, principal, body.name)
        await uow.commit()
        return team_view(team, [])


@router.patch("/{team_id}", responses=problem_responses(409))
async def patch_team(
    team_id: RowId, body: TeamBody, principal: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        team = await rename_team(uow, principal, team_id, body.name)
        await uow.commit()
        return team_view(team)


@router.put("/{team_id}/members")
async def put_members(
    team_id: RowId, body: MembersBody, principal: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Makes the team's members exactly the agents listed."""
    async with runtime.uow() as uow:
        members = await set_members(uow, principal, team_id, body.agent_ids)
        await uow.commit()
        return {"team_id": team_id, "member_ids": members}
