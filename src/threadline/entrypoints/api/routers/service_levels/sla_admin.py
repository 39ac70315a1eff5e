"""Admin: business calendars and SLA policies."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import Field

from threadline.entrypoints.api.deps import AdminDep, RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import Count, Position, PositiveSeconds, RowId, StrictBody
from threadline.service_levels import (
    calendar_view,
    create_calendar,
    create_policy,
    list_calendars,
    list_policies,
    policy_view,
    update_calendar,
    update_policy,
)

router = APIRouter(prefix="/api/v1/sla", tags=["sla"])

Ranges = dict[str, list[list[str]]]


class CalendarBody(StrictBody):
    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(default="UTC", max_length=64)
    weekly: Ranges = Field(
        default_factory=dict,
        description='Working ranges per ISO weekday, 0 = Monday: {"0": [["08:00", "16:00"]]}',
    )
    holiday_country: str | None = Field(default=None, min_length=2, max_length=2)
    holiday_subdivision: str | None = Field(default=None, max_length=10)
    custom_holidays: list[str] = Field(default_factory=list, max_length=1000)
    always_open: bool = False


class CalendarPatch(StrictBody):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    weekly: Ranges | None = None
    holiday_country: str | None = Field(default=None, min_length=2, max_length=2)
    holiday_subdivision: str | None = Field(default=None, max_length=10)
    custom_holidays: list[str] | None = Field(default=None, max_length=1000)
    always_open: bool | None = None


Conditions = dict[str, list[str | Count] | str | Count]
Escalation = dict[str, list[str]]


class PolicyBody(StrictBody):
    name: str = Field(min_length=1, max_length=200)
    position: Position = 0
    conditions: Conditions = Field(default_factory=dict)
    first_response_seconds: PositiveSeconds | None = None
    next_response_seconds: PositiveSeconds | None = None
    resolution_seconds: PositiveSeconds | None = None
    calendar_id: RowId | None = None
    warning_ratio: float = Field(default=0.8, gt=0, le=1)
    escalation: Escalation = Field(default_factory=dict)
    active: bool = True


class PolicyPatch(StrictBody):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    position: Position | None = None
    conditions: Conditions | None = None
    first_response_seconds: PositiveSeconds | None = None
    next_response_seconds: PositiveSeconds | None = None
    resolution_seconds: PositiveSeconds | None = None
    calendar_id: RowId | None = None
    warning_ratio: float | None = Field(default=None, gt=0, le=1)
    escalation: Escalation | None = None
    active: bool | None = None


# Fields where an explicit null means "none" (no target, 24x7, no subdivision).
NULLABLE = frozenset(
    {
        "first_response_seconds",
        "next_response_seconds",
        "resolution_seconds",
        "calendar_id",
        "holiday_country",
        "holiday_subdivision",
    }
)


def _changes(body: StrictBody) -> dict[str, Any]:
    given = body.model_dump(exclude_unset=True)
    return {k: v for k, v in given.items() if v is not None or k in NULLABLE}


@router.get("/calendars")
async def get_calendars(principal: AdminDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    async with runtime.uow() as uow:
        return [calendar_view(row) for row in await list_calendars(uow, principal)]


@router.post("/calendars", status_code=status.HTTP_201_CREATED, responses=problem_responses(409))
async def post_calendar(
    body: CalendarBody, principal: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        row = await create_calendar(uow, principal, body.model_dump())
        await uow.commit()
        return calendar_view(row)


@router.patch("/calendars/{calendar_id}", responses=problem_responses(409))
async def patch_calendar(
    calendar_id: RowId, body: CalendarPatch, principal: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Running SLA deadlines on this calendar are recomputed and their timers re-armed."""
    async with runtime.uow() as uow:
        row, moved = await update_calendar(uow, principal, calendar_id, _changes(body))
        await uow.commit()
        return {**calendar_view(row), "deadlines_moved": moved}


@router.get("/policies")
async def get_policies(principal: AdminDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    async with runtime.uow() as uow:
        return [policy_view(row) for row in await list_policies(uow, principal)]


@router.post("/policies", status_code=status.HTTP_201_CREATED, responses=problem_responses(409))
async def post_policy(body: PolicyBody, principal: AdminDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.uow() as uow:
        row = await create_policy(uow, principal, body.model_dump())
        await uow.commit()
        return policy_view(row)


@router.patch("/policies/{policy_id}", responses=problem_responses(409))
async def patch_policy(
    policy_id: RowId, body: PolicyPatch, principal: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        row = await update_policy(uow, principal, policy_id, _changes(body))
        await uow.commit()
        return policy_view(row)
