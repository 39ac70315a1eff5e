"""Single messages, e.g. to follow a reply's delivery status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from threadline.conversations import queries
from threadline.entrypoints.api.deps import PrincipalDep, RuntimeDep
from threadline.entrypoints.api.schemas import RowId

router = APIRouter(prefix="/api/v1/messages", tags=["messages"])


@router.get("/{message_id}")
async def get_message(
    message_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        return await queries.message_detail(session, principal, message_id)
