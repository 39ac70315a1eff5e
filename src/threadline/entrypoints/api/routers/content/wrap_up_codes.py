"""Wrap-up codes: the list agents choose from when resolving (admins keep it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import Field

from threadline.content import (
    create_code,
    list_codes,
    update_code,
    wrap_up_code_view,
)
from threadline.entrypoints.api.deps import AdminDep, PrincipalDep, RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import RowId, StrictBody

router = APIRouter(prefix="/api/v1/wrap-up-codes", tags=["wrap-up"])


class WrapUpCodeBody(StrictBody):
    code: str = Field(min_length=1, max_length=100, examples=["refund_issued"])
    label: str = Field(min_length=1, max_length=200, examples=["Refund issued"])
    team_id: RowId | None = None


class WrapUpCodePatchBody(StrictBody):
    """`active: false` retires a code (conversations resolved with it keep it)."""

    label: str | None = Field(default=None, min_length=1, max_length=200)
    active: bool | None = None
    team_id: RowId | None = None


@router.get("")
async def get_wrap_up_codes(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    team_id: RowId | None = None,
    include_inactive: bool = False,
) -> list[dict[str, Any]]:
    """With `team_id`: what an agent of that team may choose (workspace-wide and team codes)."""
    async with runtime.sessionmaker() as session:
        rows = await list_codes(
            session, principal.workspace_id, team_id=team_id, active_only=not include_inactive
        )
        if team_id is not None:
            rows = [r for r in rows if r.team_id in (None, team_id)]
        return [wrap_up_code_view(r) for r in rows]


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(409))
async def post_wrap_up_code(
    body: WrapUpCodeBody, principal: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        row = await create_code(
            uow, principal.workspace_id, code=body.code, label=body.label, team_id=body.team_id
        )
        await uow.commit()
        return wrap_up_code_view(row)


@router.patch("/{code_id}", responses=problem_responses(409))
async def patch_wrap_up_code(
    code_id: RowId, body: WrapUpCodePatchBody, principal: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        row = await update_code(
            uow, principal.workspace_id, code_id, body.model_dump(include=body.model_fields_set)
        )
        await uow.commit()
        return wrap_up_code_view(row)
