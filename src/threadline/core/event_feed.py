"""Reading the event outbox back: the source of truth behind the real-time stream.

Pub/sub only carries events fast; a client that resumes, or that notices a gap in sequence
numbers, reads the missing ones from here. Each envelope has the shape of
`unit_of_work.event_envelope`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.unit_of_work import event_envelope
from threadline.domain.events import Audience
from threadline.domain.security.access import Principal, Role, can_see_conversation


async def latest_seq(session: AsyncSession, workspace_id: int) -> int:
    """The sequence number of the workspace's last committed event (0 when none)."""
    seq = (
        await session.execute(select(t.Workspace.event_seq).where(t.Workspace.id == workspace_id))
    ).scalar_one_or_none()
    return seq or 0


async def events_since(
    session: AsyncSession, workspace_id: int, since: int, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` events of one workspace with seq > `since`, oldest first."""
    rows = (
        await session.execute(
            select(t.Event)
            .where(t.Event.workspace_id == workspace_id, t.Event.seq > since)
            .order_by(t.Event.seq)
            .limit(limit)
        )
    ).scalars()
    return [event_envelope(workspace_id, row) for row in rows]


def visible_to(principal: Principal, envelope: dict[str, Any]) -> bool:
    """Whether this caller may be shown this event."""
    if envelope.get("workspace_id") != principal.workspace_id:
        return False
    if envelope.get("audience") == Audience.ADMINS.value:
        return principal.role is Role.ADMIN
    if envelope.get("audience") == Audience.AGENT.value:
        payload = envelope.get("payload")
        return isinstance(payload, dict) and payload.get("agent_id") == principal.agent_id
    if envelope.get("conversation_id") is None:
        return True
    payload = envelope.get("payload")
    scope = payload.get("conversation") if isinstance(payload, dict) else None
    if not isinstance(scope, dict):
        # Without the conversation's assignee and team we cannot tell, so only those who
        # see every conversation get it.
        return principal.role is not Role.AGENT or principal.agents_see_all
    return can_see_conversation(
        principal, assignee_id=scope.get("assignee_id"), team_id=scope.get("team_id")
    )


def event_frame(envelope: dict[str, Any]) -> dict[str, Any]:
    """The client-facing shape of one event (WebSocket frame and polling item)."""
    return {
        "type": "event",
        "seq": envelope["seq"],
        "event": envelope["type"],
        "conversation_id": envelope["conversation_id"],
        "payload": envelope["payload"],
        "created_at": envelope["created_at"],
    }
