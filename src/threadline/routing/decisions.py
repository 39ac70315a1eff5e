"""The workspace's latest routing decisions with their explanations: who was given or
offered which conversation and why (the console's routing page shows them beside the
settings, so an admin sees what the settings do)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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
    assigned = await session.execute(
        select(t.Assignment, t.Agent.name)
        .join(t.Agent, t.Agent.id == t.Assignment.agent_id)
        .where(t.Assignment.workspace_id == principal.workspace_id)
        .order_by(t.Assignment.assigned_at.desc(), t.Assignment.id.desc())
        .limit(limit)
    )
    offered = await session.execute(
        select(t.RoutingOffer, t.Agent.name)
        .join(t.Agent, t.Agent.id == t.RoutingOffer.agent_id)
        .where(t.RoutingOffer.workspace_id == principal.workspace_id)
        .order_by(t.RoutingOffer.offered_at.desc(), t.RoutingOffer.id.desc())
        .limit(limit)
    )
    decisions = [(a.assigned_at, a.id, _decision("assigned", a.mode, a, name)) for a, name in assigned]
    decisions += [(o.offered_at, o.id, _decision("offered", o.status, o, name)) for o, name in offered]
    decisions.sort(key=lambda d: (d[0], d[1]), reverse=True)
    return [{**view, "at": iso(at)} for at, _id, view in decisions[:limit]]


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
