"""The audit log, for admins: entries filtered and paged, and the same as a CSV download."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from threadline.audit import (
    AuditFilters,
    export_audit_csv,
    list_audit_entries,
    require_audit_reader,
)
from threadline.audit.reads import MAX_PAGE
from threadline.entrypoints.api.deps import AdminDep, RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import Moment

router = APIRouter(prefix="/api/v1", tags=["audit"])


def audit_filters(
    actor: Annotated[
        str | None, Query(max_length=320, description="Part of the actor's name, any case")
    ] = None,
    action: Annotated[
        str | None, Query(max_length=100, description='The start of the action, e.g. "agent."')
    ] = None,
    object_type: Annotated[str | None, Query(max_length=50)] = None,
    object_id: Annotated[str | None, Query(max_length=300)] = None,
    since: Annotated[Moment | None, Query(alias="from", description="At or after")] = None,
    until: Annotated[Moment | None, Query(alias="to", description="Before")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Words in the action, object or actor")
    ] = None,
) -> AuditFilters:
    return AuditFilters(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        since=since,
        until=until,
        text=q,
    )


FiltersDep = Annotated[AuditFilters, Depends(audit_filters)]


@router.get("/audit", responses=problem_responses(403, 422))
async def list_audit(
    principal: AdminDep,
    runtime: RuntimeDep,
    filters: FiltersDep,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_PAGE)] = None,
) -> dict[str, Any]:
    """Entries the newest first; `next_cursor` asks for the page after (null on the last)."""
    async with runtime.sessionmaker() as session:
        page = await list_audit_entries(session, principal, filters, cursor=cursor, limit=limit)
    return {"items": page.entries, "next_cursor": page.next_cursor}


@router.get(
    "/audit.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}, **problem_responses(403)},
)
async def export_audit(
    principal: AdminDep, runtime: RuntimeDep, filters: FiltersDep
) -> StreamingResponse:
    """Every matching entry as CSV, the newest first, streamed as it is read."""
    require_audit_reader(principal)
    return StreamingResponse(
        export_audit_csv(runtime.sessionmaker, principal, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
