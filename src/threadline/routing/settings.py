"""Routing settings: the workspace's mode (manual or auto), scoring weights and routing steps,
and each team's default capacity and own steps; read by routing, written by admins."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_scoped
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.errors import DomainError
from threadline.domain.routing.capacity import check_capacity_settings
from threadline.domain.routing.scoring import Weights
from threadline.domain.routing.steps import StepSettings, check_steps
from threadline.domain.security.access import Principal, Role, require_role

MANUAL = "manual"


AUTO = "auto"


MODES = (MANUAL, AUTO)


WEIGHT_FIELDS = ("affinity", "skill", "competence", "free_capacity", "idle")


DURATION_FIELDS = ("idle_saturation_minutes", "affinity_half_life_days")


async def stored_settings(session: AsyncSession, workspace_id: int) -> t.RoutingSettings | None:
    return await session.get(t.RoutingSettings, workspace_id)


async def is_auto(session: AsyncSession, workspace_id: int) -> bool:
    row = await stored_settings(session, workspace_id)
    return row is not None and row.mode == AUTO


def weights_from(stored: Mapping[str, Any]) -> Weights:
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


async def step_settings(
    session: AsyncSession, workspace_id: int, team_id: int | None
) -> StepSettings:
    """The workspace's routing steps with the team's own settings on top."""
    row = await stored_settings(session, workspace_id)
    layers: list[Mapping[str, Any]] = [row.steps if row is not None else {}]
    if team_id is not None:
        team = await session.get(t.TeamRouting, team_id)
        if team is not None and team.workspace_id == workspace_id:
            layers.append(team.steps)
    return StepSettings.merged(*layers)


def settings_view(workspace_id: int, row: t.RoutingSettings | None) -> dict[str, Any]:
    stored = row.weights if row is not None else {}
    weights = weights_from(stored)
    return {
        "workspace_id": workspace_id,
        "mode": row.mode if row is not None else "manual",
        "weights": {
            **{name: getattr(weights, name) for name in WEIGHT_FIELDS},
            "idle_saturation_minutes": weights.idle_saturation.total_seconds() / 60,
            "affinity_half_life_days": weights.affinity_half_life.total_seconds() / 86400,
        },
        "steps": asdict(StepSettings.merged(row.steps if row is not None else {})),
    }


async def get_settings(session: AsyncSession, principal: Principal) -> dict[str, Any]:
    require_role(principal, Role.ADMIN)
    row = await stored_settings(session, principal.workspace_id)
    return settings_view(principal.workspace_id, row)


async def put_settings(
    uow: UnitOfWork,
    principal: Principal,
    mode: str,
    weights: dict[str, float],
    steps: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`steps` None keeps the stored steps; a dict replaces them (missing = default)."""
    require_role(principal, Role.ADMIN)
    if mode not in MODES:
        raise DomainError(f"routing mode must be one of {', '.join(MODES)}, not {mode!r}")
    known = set(WEIGHT_FIELDS) | set(DURATION_FIELDS)
    unknown = sorted(set(weights) - known)
    if unknown:
        raise DomainError(f"unknown routing weight {unknown[0]!r}; use {sorted(known)}")
    for name, value in weights.items():
        if value < 0 or (name in DURATION_FIELDS and value == 0):
            raise DomainError(f"routing weight {name} must be positive, not {value}")
    session = uow.session
    checked_steps = (
        await _checked_steps(session, principal.workspace_id, steps) if steps is not None else None
    )
    row = await stored_settings(session, principal.workspace_id)
    now = uow.clock.now()
    if row is None:
        row = t.RoutingSettings(workspace_id=principal.workspace_id, updated_at=now, steps={})
        session.add(row)
    row.mode = mode
    row.weights = dict(weights)
    if checked_steps is not None:
        row.steps = checked_steps
    row.updated_at = now
    await session.flush()
    return settings_view(principal.workspace_id, row)


def team_routing_view(team: t.Team, row: t.TeamRouting | None) -> dict[str, Any]:
    return {
        "team_id": team.id,
        "capacity": dict(row.capacity) if row is not None else {},
        "steps": dict(row.steps) if row is not None else {},
    }


async def get_team_routing(
    session: AsyncSession, principal: Principal, team_id: int
) -> dict[str, Any]:
    require_role(principal, Role.SUPERVISOR)
    team = await get_scoped(session, t.Team, principal.workspace_id, team_id)
    return team_routing_view(team, await session.get(t.TeamRouting, team.id))


async def put_team_routing(
    uow: UnitOfWork,
    principal: Principal,
    team_id: int,
    capacity: dict[str, Any],
    steps: dict[str, Any],
) -> dict[str, Any]:
    """The team's default capacity (for members who set none) and its own routing steps."""
    require_role(principal, Role.ADMIN)
    session = uow.session
    team = await get_scoped(session, t.Team, principal.workspace_id, team_id)
    checked_capacity = check_capacity_settings(capacity)
    checked_steps = await _checked_steps(session, principal.workspace_id, steps)
    row = await session.get(t.TeamRouting, team.id)
    now = uow.clock.now()
    if row is None:
        row = t.TeamRouting(team_id=team.id, workspace_id=team.workspace_id, updated_at=now)
        session.add(row)
    row.capacity = checked_capacity
    row.steps = checked_steps
    row.updated_at = now
    await session.flush()
    return team_routing_view(team, row)


async def _checked_steps(
    session: AsyncSession, workspace_id: int, steps: dict[str, Any]
) -> dict[str, Any]:
    """Step settings as stored; an overflow team must be one of this workspace's."""
    checked = check_steps(steps)
    if checked.get("overflow_team_id") is not None:
        await get_scoped(session, t.Team, workspace_id, checked["overflow_team_id"])
    return checked


async def list_team_routing(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
    """Every team of the workspace with its own routing (empty: the workspace's applies)."""
    require_role(principal, Role.SUPERVISOR)
    teams = (
        await session.execute(
            select(t.Team, t.TeamRouting)
            .outerjoin(t.TeamRouting, t.TeamRouting.team_id == t.Team.id)
            .where(t.Team.workspace_id == principal.workspace_id)
            .order_by(t.Team.name, t.Team.id)
        )
    ).all()
    return [{**team_routing_view(team, row), "name": team.name} for team, row in teams]
