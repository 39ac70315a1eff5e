"""The workspace's latest routing decisions with their explanations: who was given or
offered which conversation and why (the console's routing page shows them beside the
settings, so an admin sees what the settings do)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from threadline.adapters.db import tables as t
from threadline.core.views import iso
from threadline.domain.security.access import Principal, Role, require_role

RECENT_DECISIONS = 5


async def recent_decisions(
    session: AsyncSession, principal: Principal, limit: int = RECENT_DECISIONS
) -> list[dict[str, Any]]:
    """The last `limit` assignments and offers of the workspace, newest first."""
    require_role(principal, Role.SUPERVISOR)
    limit = max(1, min(limit, 50))
    workspace = principal.workspace_id
    assigned = await _latest(session, workspace, t.Assignment, t.Assignment.assigned_at, limit)
    offered = await _latest(session, workspace, t.RoutingOffer, t.RoutingOffer.offered_at, limit)
    decisions = [(a.assigned_at, a.id, _decision("assigned", a.mode, a, n)) for a, n in assigned]
    decisions += [(o.offered_at, o.id, _decision("offered", o.status, o, n)) for o, n in offered]
    decisions.sort(key=lambda d: (d[0], d[1]), reverse=True)
    return [{**view, "at": iso(at)} for at, _id, view in decisions[:limit]]


Claim = TypeVar("Claim", t.Assignment, t.RoutingOffer)


async def _latest(
    session: AsyncSession,
    workspace_id: int,
    claim: type[Claim],
    made_at: InstrumentedAttribute[datetime],
    limit: int,
) -> list[tuple[Claim, str]]:
    """The workspace's newest claims of one kind, with their agent's name."""
    rows = await session.execute(
        select(claim, t.Agent.name)
        .join(t.Agent, t.Agent.id == claim.agent_id)
        .where(claim.workspace_id == workspace_id)
        .order_by(made_at.desc(), claim.id.desc())
        .limit(limit)
    )
    return [(found, name) for found, name in rows]


def _decision(
    kind: str, detail: str, claim: t.Assignment | t.RoutingOffer, agent_name: str
) -> dict[str, Any]:
    return {
        "kind": kind,
        # assignments: auto | manual | reopen | queue; offers: pending | accepted | ...
        "detail": detail,
        "conversation_id": claim.conversation_id,
        "agent_id": claim.agent_id,
        "agent_name": agent_name,
        "channel": claim.channel,
        "reason": claim.reason,
    }
