"""SLA policies: the response and resolution targets, created, changed and listed by admins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_scoped
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.errors import DomainError, NotFound
from threadline.domain.security.access import Principal, Role, require_role
from threadline.domain.service_levels.sla import (
    InvalidPolicy,
    normalise_conditions,
    normalise_escalation,
)
from threadline.service_levels.calendars import check_name_is_free, locked_calendar

POLICY_FIELDS = frozenset(
    {
        "name",
        "position",
        "conditions",
        "first_response_seconds",
        "next_response_seconds",
        "resolution_seconds",
        "calendar_id",
        "warning_ratio",
        "escalation",
        "active",
    }
)


def policy_view(row: t.SlaPolicy) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "position": row.position,
        "conditions": row.conditions,
        "first_response_seconds": row.first_response_seconds,
        "next_response_seconds": row.next_response_seconds,
        "resolution_seconds": row.resolution_seconds,
        "calendar_id": row.calendar_id,
        "warning_ratio": row.warning_ratio,
        "escalation": row.escalation,
        "active": row.active,
    }


async def _apply_policy_fields(uow: UnitOfWork, row: t.SlaPolicy, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        if name not in POLICY_FIELDS:
            raise DomainError(f"{name} cannot be set on an SLA policy")
        if name == "name" and not str(value).strip():
            raise InvalidPolicy("an SLA policy needs a name")
        if name == "conditions":
            value = normalise_conditions(value or {})
        elif name == "escalation":
            value = normalise_escalation(value or {})
        elif name.endswith("_seconds") and value is not None and value <= 0:
            raise InvalidPolicy(f"{name} must be positive (or null for no target)")
        elif name == "warning_ratio" and not 0 < float(value) <= 1:
            raise InvalidPolicy("warning_ratio is a share of the target between 0 and 1")
        elif name == "calendar_id" and value is not None:
            await locked_calendar(uow, row.workspace_id, int(value))
        setattr(row, name, value)
    await check_name_is_free(uow, t.SlaPolicy, row.workspace_id, row.name, row.id or 0)


async def create_policy(
    uow: UnitOfWork, principal: Principal, fields: dict[str, Any]
) -> t.SlaPolicy:
    require_role(principal, Role.ADMIN)
    now = uow.clock.now()
    row = t.SlaPolicy(
        workspace_id=principal.workspace_id,
        name="",
        position=0,
        conditions={},
        warning_ratio=0.8,
        escalation={},
        active=True,
        created_at=now,
        updated_at=now,
    )
    await _apply_policy_fields(uow, row, fields)
    uow.session.add(row)
    await uow.session.flush()
    return row


async def update_policy(
    uow: UnitOfWork, principal: Principal, policy_id: int, changes: dict[str, Any]
) -> t.SlaPolicy:
    """New targets apply to clocks started from now on; running ones keep their promise."""
    require_role(principal, Role.ADMIN)
    row = (
        await uow.session.execute(
            select(t.SlaPolicy)
            .where(t.SlaPolicy.id == policy_id, t.SlaPolicy.workspace_id == principal.workspace_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"SLA policy {policy_id} not found")
    await _apply_policy_fields(uow, row, changes)
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    return row


async def get_policy(uow: UnitOfWork, principal: Principal, policy_id: int) -> t.SlaPolicy:
    return await get_scoped(uow.session, t.SlaPolicy, principal.workspace_id, policy_id)


async def list_policies(uow: UnitOfWork, principal: Principal) -> list[t.SlaPolicy]:
    return list(
        (
            await uow.session.execute(
                select(t.SlaPolicy)
                .where(t.SlaPolicy.workspace_id == principal.workspace_id)
                .order_by(t.SlaPolicy.position, t.SlaPolicy.id)
            )
        ).scalars()
    )
