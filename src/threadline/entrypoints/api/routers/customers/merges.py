"""Merging two customers into one, the audit trail of merges, and undo."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from threadline.customers import (
    get_merge,
    list_merges,
    merge_customers,
    merge_view,
    unmerge,
)
from threadline.entrypoints.api.deps import PrincipalDep, RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import RowId, StrictBody

router = APIRouter(prefix="/api/v1", tags=["merges"])


class MergeBody(StrictBody):
    source_customer_id: RowId


@router.post(
    "/customers/{customer_id}/merge",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409),
)
async def post_merge(
    customer_id: RowId, body: MergeBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Merge the source customer into this one (supervisors and admins). Audited; undoable."""
    async with runtime.uow() as uow:
        merge = await merge_customers(uow, principal, body.source_customer_id, customer_id)
        await uow.commit()
    return merge_view(merge)


@router.get("/merges")
async def get_merges(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    customer_id: Annotated[
        RowId | None, Query(description="only merges this customer was in")
    ] = None,
) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        merges = await list_merges(session, principal, customer_id)
    return {"items": [merge_view(m) for m in merges]}


@router.get("/merges/{merge_id}")
async def get_one_merge(
    merge_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        return merge_view(await get_merge(session, principal, merge_id))


@router.post("/merges/{merge_id}/undo", responses=problem_responses(409))
async def post_undo(
    merge_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Move what the merge moved back to the source customer (supervisors and admins)."""
    async with runtime.uow() as uow:
        merge = await unmerge(uow, principal, merge_id)
        await uow.commit()
    return merge_view(merge)
