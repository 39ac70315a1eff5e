"""The signed-in agent's notifications (e.g. a note that @mentions them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from threadline.conversations import (
    list_notifications,
    mark_all_read,
    mark_read,
    notification_view,
)
from threadline.entrypoints.api.deps import AgentDep, RuntimeDep
from threadline.entrypoints.api.schemas import RowId

router = APIRouter(prefix="/api/v1", tags=["notifications"])


@router.get("/notifications")
async def get_notifications(
    principal: AgentDep, runtime: RuntimeDep, unread: bool = False
) -> dict[str, Any]:
    """`{"unread": n, "notifications": [...]}`, newest first (at most 100); `?unread=true`
    lists only unread ones. Live: the `agent.mentioned` event reaches only that agent."""
    async with runtime.sessionmaker() as session:
        return await list_notifications(session, principal, unread_only=unread)


@router.post("/notifications/read-all")
async def post_read_all(principal: AgentDep, runtime: RuntimeDep) -> dict[str, int]:
    async with runtime.uow() as uow:
        count = await mark_all_read(uow, principal)
        await uow.commit()
    return {"marked_read": count}


@router.post("/notifications/{notification_id}/read")
async def post_read(
    notification_id: RowId, principal: AgentDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Mark one of your notifications read (again is fine); another agent's is a 404."""
    async with runtime.uow() as uow:
        row = await mark_read(uow, principal, notification_id)
        await uow.commit()
        return notification_view(row)
