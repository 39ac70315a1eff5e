"""Routing as people see it: settings, the "why this agent" history, routing on request and a
customer's place in the queue."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_scoped, get_visible_conversation
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.access import Principal, Role, require_role
from threadline.domain.channels import Channel
from threadline.domain.conversations import ConversationStatus
from threadline.domain.errors import DomainError
from threadline.domain.routing.capacity import check_capacity_settings
from threadline.domain.routing.queue import QueuePolicy, queue_order
from threadline.domain.routing.steps import StepSettings, check_steps
from threadline.domain.routing.wait_estimate import LOOK_BACK, SAMPLE_SIZE, estimate_wait
from threadline.routing.service import (
    MODES,
    WEIGHT_FIELDS,
    RouteResult,
    assignment_view,
    online_agents,
    route,
    stored_settings,
    waiting_work,
    weights_from,
)

DURATION_FIELDS = ("idle_saturation_minutes", "affinity_half_life_days")


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


async def list_assignments(
    session: AsyncSession, principal: Principal, conversation_id: int
) -> list[dict[str, Any]]:
    await get_visible_conversation(session, principal, conversation_id)
    rows = await session.execute(
        select(t.Assignment, t.Agent.name)
        .join(t.Agent, t.Agent.id == t.Assignment.agent_id)
        .where(
            t.Assignment.conversation_id == conversation_id,
            t.Assignment.workspace_id == principal.workspace_id,
        )
        .order_by(t.Assignment.assigned_at, t.Assignment.id)
    )
    return [assignment_view(a, name) for a, name in rows]


async def route_now(uow: UnitOfWork, principal: Principal, conversation_id: int) -> RouteResult:
    require_role(principal, Role.SUPERVISOR)
    await get_visible_conversation(uow.session, principal, conversation_id)
    return await route(uow, principal.workspace_id, conversation_id, mode="requested")


async def recent_handling_times(
    session: AsyncSession, workspace_id: int, channel: str, now: datetime
) -> list[timedelta]:
    """How long the channel's latest finished assignments lasted (domain/routing/wait_estimate)."""
    rows = await session.execute(
        select(t.Assignment.assigned_at, t.Assignment.released_at)
        .where(
            t.Assignment.workspace_id == workspace_id,
            t.Assignment.channel == channel,
            t.Assignment.released_at.is_not(None),
            t.Assignment.released_at >= now - LOOK_BACK,
        )
        .order_by(t.Assignment.released_at.desc())
        .limit(SAMPLE_SIZE)
    )
    return [released - assigned for assigned, released in rows if released is not None]


async def queue_position(
    session: AsyncSession, principal: Principal, conversation_id: int, now: Any
) -> dict[str, Any]:
    """Place among the waiting unassigned conversations of the same team (or of the workspace
    without a team), in queue order, and the estimated wait from the recent handling times of
    the conversation's channel (None when there is too little history to say,
    domain/routing/wait_estimate.py)."""
    conversation = await get_visible_conversation(session, principal, conversation_id)
    return (await queue_positions(session, principal.workspace_id, [conversation], now))[
        conversation.id
    ]


async def queue_positions(
    session: AsyncSession, workspace_id: int, conversations: list[t.Conversation], now: Any
) -> dict[int, dict[str, Any]]:
    """`queue_position` for many conversations at once (the supervisors' queue page): each
    team's queue and online agents, and each channel's handling times, are read once."""
    queues: dict[int | None, list[int]] = {}
    online: dict[int | None, int] = {}
    handling: dict[str, list[timedelta]] = {}
    places: dict[int, dict[str, Any]] = {}
    for conversation in conversations:
        result: dict[str, Any] = {
            "conversation_id": conversation.id,
            "waiting": False,
            "position": None,
            "queue_length": None,
            "estimated_wait_seconds": None,
            "assignee_id": conversation.assignee_id,
        }
        places[conversation.id] = result
        if (
            conversation.assignee_id is not None
            or conversation.status != ConversationStatus.OPEN.value
            or conversation.last_inbound_channel is None
        ):
            continue
        team = conversation.team_id
        if team not in queues:
            waiting = await waiting_work(session, workspace_id, same_team_as=conversation)
            queues[team] = [w.conversation_id for w in queue_order(waiting, now, QueuePolicy())]
            agents = online_agents(workspace_id, team).subquery()
            online[team] = int(
                (await session.execute(select(func.count()).select_from(agents))).scalar_one()
            )
        channel = conversation.last_inbound_channel
        if channel not in handling:
            handling[channel] = await recent_handling_times(session, workspace_id, channel, now)
        ids = queues[team]
        position = ids.index(conversation.id) + 1 if conversation.id in ids else len(ids) + 1
        estimate = estimate_wait(Channel(channel), position, online[team], handling[channel])
        result.update(
            waiting=True,
            position=position,
            queue_length=max(len(ids), position),
            estimated_wait_seconds=(
                round(estimate.wait.total_seconds()) if estimate.wait is not None else None
            ),
            typical_handling_seconds=(
                round(estimate.typical_handling.total_seconds())
                if estimate.typical_handling is not None
                else None
            ),
            handling_samples=estimate.samples,
            agents_online=online[team],
        )
    return places


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
