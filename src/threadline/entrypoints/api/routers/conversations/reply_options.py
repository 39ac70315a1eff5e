"""What the reply box may offer: channels, messaging windows and approved templates."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from threadline.conversations import reply_options
from threadline.entrypoints.api.deps import PrincipalDep, RuntimeDep
from threadline.entrypoints.api.schemas import RowId

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])


@router.get("/{conversation_id}/reply-options")
async def get_reply_options(
    conversation_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Each channel the customer can be answered on in writing (never `voice`), with its rule
    state: whether free text may go now (the WhatsApp/Messenger 24-hour window, `closes_at`),
    and which approved templates can be sent when it may not. `default_channel` is where a
    reply goes without a channel; `default_reason` says why when it is not the latest inbound
    channel (after a call: SMS or WhatsApp to the caller's number), or why there is none."""
    async with runtime.uow() as uow:
        return await reply_options(uow, principal, conversation_id)
