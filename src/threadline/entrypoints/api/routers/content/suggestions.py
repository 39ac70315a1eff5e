"""Suggestions for the agent in a conversation: label scripts, suggested replies, products."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from threadline.content import conversation_suggestions
from threadline.entrypoints.api.deps import PrincipalDep, RuntimeDep
from threadline.entrypoints.api.schemas import RowId

router = APIRouter(prefix="/api/v1", tags=["suggestions"])


@router.get("/conversations/{conversation_id}/suggestions")
async def get_suggestions(
    conversation_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """`scripts`: for each label of the conversation that has a script, the script and its
    suggested replies with variables filled in. `cross_sell`: complementary products of what
    the customer ordered (or the conversation mentions by SKU) that they do not have yet, each
    with `because_of` SKUs. `substitutes`: available products standing in for an ordered or
    mentioned product that is inactive or out of stock (`instead_of`)."""
    async with runtime.sessionmaker() as session:
        return await conversation_suggestions(session, principal, conversation_id)
