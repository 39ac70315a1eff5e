"""Routing: workspace settings, assignment history with explanations, routing on request and
queue position (what the chat widget shows a waiting customer)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from threadline.entrypoints.api.deps import AdminDep, PrincipalDep, RuntimeDep, SupervisorDep
from threadline.entrypoints.api.schemas import StrictBody
from threadline.services.routing import assignment_view
from threadline.services.routing_queries import (
    get_settings,
    list_assignments,
    put_settings,
    queue_position,
    route_now,
)

router = APIRouter(prefix="/api/v1", tags=["routing"])


class RoutingSettingsBody(StrictBody):
    mode: Literal["manual", "auto"]
    weights: dict[str, float] = Field(default_factory=dict, max_length=20)


@router.get("/routing/settings")
async def get_routing_settings(principal: AdminDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        return await get_settings(session, principal)


@router.put("/routing/settings")
async def put_routing_settings(
    body: RoutingSettingsBody, principal: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        view = await put_settings(uow, principal, body.mode, body.weights)
        await uow.commit()
        return view


@router.get("/conversations/{conversation_id}/assignments")
async def get_assignments(
    conversation_id: int, principal: PrincipalDep, runtime: RuntimeDep
) -> list[dict[str, Any]]:
    async with runtime.sessionmaker() as session:
        return await list_assignments(session, principal, conversation_id)


@router.post("/conversations/{conversation_id}/route")
async def post_route(
    conversation_id: int, principal: SupervisorDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        result = await route_now(uow, principal, conversation_id)
        view = assignment_view(result.assignment) if result.assignment is not None else None
        await uow.commit()
        return {"assigned": view is not None, "assignment": view, "explanation": result.explanation}


@router.get("/conversations/{conversation_id}/queue-position")
async def get_queue_position(
    conversation_id: int, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        return await queue_position(session, principal, conversation_id, runtime.clock.now())
