"""Routing: workspace and team settings, assignment history with explanations, routing on
request, queue position (what the chat widget shows a waiting customer), offers to accept or
decline, and transfers."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from threadline.core.views import conversation_view
from threadline.entrypoints.api.deps import AdminDep, PrincipalDep, RuntimeDep, SupervisorDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import RowId, StrictBody
from threadline.routing import (
    accept_offer,
    assignment_view,
    decline_offer,
    get_settings,
    get_team_routing,
    list_assignments,
    list_my_offers,
    put_settings,
    put_team_routing,
    queue_position,
    route_now,
    transfer,
)

router = APIRouter(prefix="/api/v1", tags=["routing"])


class RoutingSettingsBody(StrictBody):
    mode: Literal["manual", "auto"]
    weights: dict[str, float] = Field(default_factory=dict, max_length=20)
    # Sticky wait, relaxation, overflow and offer mode; omitted: kept as stored.
    steps: dict[str, Any] | None = Field(default=None, max_length=20)


class TeamRoutingBody(StrictBody):
    capacity: dict[str, Any] = Field(default_factory=dict, max_length=10)
    steps: dict[str, Any] = Field(default_factory=dict, max_length=20)


class TransferBody(StrictBody):
    agent_id: RowId | None = None
    team_id: RowId | None = None
    note: str = Field(default="", max_length=2000)


@router.get("/routing/settings")
async def get_routing_settings(principal: AdminDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        return await get_settings(session, principal)


@router.put("/routing/settings")
async def put_routing_settings(
    body: RoutingSettingsBody, principal: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        view = await put_settings(uow, principal, body.mode, body.weights, body.steps)
        await uow.commit()
        return view


@router.get("/conversations/{conversation_id}/assignments")
async def get_assignments(
    conversation_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> list[dict[str, Any]]:
    async with runtime.sessionmaker() as session:
        return await list_assignments(session, principal, conversation_id)


@router.post("/conversations/{conversation_id}/route")
async def post_route(
    conversation_id: RowId, principal: SupervisorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        result = await route_now(uow, principal, conversation_id)
        view = assignment_view(result.assignment) if result.assignment is not None else None
        await uow.commit()
        return {"assigned": view is not None, "assignment": view, "explanation": result.explanation}


@router.get("/conversations/{conversation_id}/queue-position")
async def get_queue_position(
    conversation_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        return await queue_position(session, principal, conversation_id, runtime.clock.now())


@router.get("/teams/{team_id}/routing")
async def get_team_routing_settings(
    team_id: RowId, principal: SupervisorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        return await get_team_routing(session, principal, team_id)


@router.put("/teams/{team_id}/routing")
async def put_team_routing_settings(
    team_id: RowId, body: TeamRoutingBody, principal: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        view = await put_team_routing(uow, principal, team_id, body.capacity, body.steps)
        await uow.commit()
        return view


@router.get("/routing/offers")
async def get_my_offers(principal: PrincipalDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    async with runtime.uow() as uow:
        return await list_my_offers(uow, principal)


@router.post("/routing/offers/{offer_id}/accept", responses=problem_responses(409))
async def post_accept_offer(
    offer_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        assignment = await accept_offer(uow, principal, offer_id)
        view = assignment_view(assignment)
        await uow.commit()
        return {"accepted": True, "assignment": view}


@router.post("/routing/offers/{offer_id}/decline", responses=problem_responses(409))
async def post_decline_offer(
    offer_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        result = await decline_offer(uow, principal, offer_id)
        await uow.commit()
        return {"declined": True, "next": result.explanation}


@router.post("/conversations/{conversation_id}/transfer", responses=problem_responses(409))
async def post_transfer(
    conversation_id: RowId, body: TransferBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        result = await transfer(
            uow,
            principal,
            conversation_id,
            agent_id=body.agent_id,
            team_id=body.team_id,
            note=body.note,
        )
        view = {
            "conversation": conversation_view(result.conversation),
            "assignment": assignment_view(result.assignment) if result.assignment else None,
            "explanation": result.explanation,
        }
        await uow.commit()
        return view
