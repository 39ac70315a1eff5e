"""Agents: the people of the workspace, their profiles and presence."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, status
from pydantic import Field

from threadline.core.views import agent_view
from threadline.domain.agent_profile import MAX_LEVEL, MIN_LEVEL, Presence
from threadline.domain.channels import Channel
from threadline.domain.security.access import Role
from threadline.entrypoints.api.deps import AdminDep, AgentDep, PrincipalDep, RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import RowId, StrictBody
from threadline.workspace import (
    NewAgent,
    add_agent,
    list_agents,
    set_own_presence,
    show_agent,
    team_ids_of,
    update_agent,
)

router = APIRouter(prefix="/api/v1/agents", tags=["agents"])

Level = Annotated[int, Field(ge=MIN_LEVEL, le=MAX_LEVEL)]
SkillName = Annotated[str, Field(min_length=1, max_length=100)]


class AgentProfileFields(StrictBody):
    photo_url: str | None = Field(default=None, max_length=1000)
    skills: dict[SkillName, Level] | None = Field(
        default=None,
        description="Product knowledge, e.g. {'kettles': 8}; levels 1-10 (supervisors, admins)",
    )
    channel_competences: dict[Channel, Level] | None = Field(
        default=None,
        description="How good the agent is per channel, levels 1-10 (supervisors, admins)",
    )
    languages: list[Annotated[str, Field(min_length=2, max_length=20)]] | None = Field(
        default=None, max_length=30, description="Routing matches them (supervisors, admins)"
    )
    capacity: dict[str, Any] | None = Field(
        default=None,
        description=(
            "What routing may give the agent at once: a load `budget` shared by all channels,"
            " the `costs` of one conversation per channel and `channel_limits`, e.g."
            " {'budget': 100, 'channel_limits': {'web_chat': 3}} (supervisors, admins)"
        ),
    )


class NewAgentBody(AgentProfileFields):
    email: str = Field(min_length=3, max_length=320)
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.AGENT
    password: str | None = Field(default=None, min_length=8, max_length=1000)


class AgentPatchBody(AgentProfileFields):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    presence: Presence | None = None
    role: Role | None = Field(default=None, description="Admins only, never one's own")
    active: bool | None = Field(default=None, description="Admins only, never one's own")


class PresenceBody(StrictBody):
    presence: Presence


def _profile_changes(body: StrictBody) -> dict[str, Any]:
    changes = body.model_dump(mode="json", include=body.model_fields_set)
    # Fields that cannot be empty are ignored when sent as null.
    for name in ("name", "presence", "role", "active", "skills", "channel_competences"):
        if name in changes and changes[name] is None:
            del changes[name]
    for name in ("languages",):
        if name in changes and changes[name] is None:
            changes[name] = []
    if "capacity" in changes and changes["capacity"] is None:
        changes["capacity"] = {}
    return changes


@router.get("")
async def get_agents(principal: PrincipalDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    async with runtime.sessionmaker() as session:
        return await list_agents(session, principal)


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(409))
async def post_agent(
    body: NewAgentBody, principal: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        agent = await add_agent(
            uow,
            principal,
            NewAgent(
                email=body.email,
                name=body.name,
                role=body.role,
                password=body.password,
                photo_url=body.photo_url,
                skills=body.skills,
                channel_competences={
                    k.value: v for k, v in (body.channel_competences or {}).items()
                },
                languages=body.languages,
                capacity=body.capacity,
            ),
        )
        await uow.commit()
        return agent_view(agent, [])


@router.post("/me/presence")
async def post_own_presence(
    body: PresenceBody, principal: AgentDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Online, away or offline: routing only offers new work to online agents."""
    async with runtime.uow() as uow:
        agent = await set_own_presence(uow, principal, body.presence)
        teams = await team_ids_of(uow.session, [agent.id])
        await uow.commit()
        return agent_view(agent, teams[agent.id])


@router.get("/{agent_id}")
async def get_agent(
    agent_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        return await show_agent(session, principal, agent_id)


@router.patch("/{agent_id}")
async def patch_agent(
    agent_id: RowId, body: AgentPatchBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Agents change their own name, photo and presence; supervisors and admins change
    anyone's skills, channel competences, languages and capacity (what routing weighs);
    admins change the rest, but never their own role or active flag."""
    async with runtime.uow() as uow:
        agent = await update_agent(uow, principal, agent_id, _profile_changes(body))
        teams = await team_ids_of(uow.session, [agent.id])
        await uow.commit()
        return agent_view(agent, teams[agent.id])
