"""The SLA report of one conversation: its clocks and response/resolution measurements."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from threadline.entrypoints.api.deps import PrincipalDep, RuntimeDep
from threadline.entrypoints.api.schemas import RowId
from threadline.service_levels import conversation_sla

router = APIRouter(prefix="/api/v1/conversations", tags=["sla"])


@router.get("/{conversation_id}/sla")
async def get_conversation_sla(
    conversation_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        return await conversation_sla(uow, principal, conversation_id)
