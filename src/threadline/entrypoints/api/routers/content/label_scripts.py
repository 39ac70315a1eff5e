"""Scripts and suggested replies per conversation label (supervisors and admins manage them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import Field

from threadline.content import (
    MAX_SUGGESTED_REPLIES,
    LabelScriptFields,
    create_label_script,
    delete_label_script,
    get_label_script,
    label_script_view,
    list_label_scripts,
    update_label_script,
)
from threadline.conversations import MAX_LABEL_LENGTH
from threadline.domain.content.canned_responses import MAX_BODY_LENGTH
from threadline.entrypoints.api.deps import PrincipalDep, RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import RowId, StrictBody

router = APIRouter(prefix="/api/v1", tags=["label scripts"])


class LabelScriptBody(StrictBody):
    label: str = Field(
        min_length=1, max_length=MAX_LABEL_LENGTH, description="A conversation label, e.g. warranty"
    )
    script: str | None = Field(default=None, max_length=MAX_BODY_LENGTH)
    suggested_replies: list[str] = Field(
        default_factory=list,
        max_length=MAX_SUGGESTED_REPLIES,
        description="Reply templates with the canned-response {{variables}}",
    )


def _fields(body: LabelScriptBody) -> LabelScriptFields:
    return LabelScriptFields(body.label, body.script, tuple(body.suggested_replies))


@router.get("/label-scripts")
async def get_label_scripts(principal: PrincipalDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    async with runtime.sessionmaker() as session:
        return [label_script_view(r) for r in await list_label_scripts(session, principal)]


@router.post(
    "/label-scripts", status_code=status.HTTP_201_CREATED, responses=problem_responses(409)
)
async def post_label_script(
    body: LabelScriptBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """One script per label; a second one for the same label is a 409."""
    async with runtime.uow() as uow:
        row = await create_label_script(uow, principal, _fields(body))
        await uow.commit()
        return label_script_view(row)


@router.get("/label-scripts/{label_script_id}")
async def get_one(
    label_script_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        return label_script_view(await get_label_script(session, principal, label_script_id))


@router.put("/label-scripts/{label_script_id}", responses=problem_responses(409))
async def put_label_script(
    label_script_id: RowId, body: LabelScriptBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        row = await update_label_script(uow, principal, label_script_id, _fields(body))
        await uow.commit()
        return label_script_view(row)


@router.delete("/label-scripts/{label_script_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_label_script(
    label_script_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> Response:
    async with runtime.uow() as uow:
        await delete_label_script(uow, principal, label_script_id)
        await uow.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
