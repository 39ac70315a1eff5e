"""Canned responses: standard replies with {{variables}}, found by shortcut.

Admins and supervisors create, change and delete them; every agent lists, searches and
renders them for a conversation. See docs/agent-content.md for the variables.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import Field

from threadline.content import (
    MAX_TITLE_LENGTH,
    CannedResponseFields,
    canned_response_view,
    create_canned_response,
    delete_canned_response,
    get_canned_response,
    render_canned_response,
    search_canned_responses,
    update_canned_response,
)
from threadline.domain.content.canned_responses import (
    MAX_BODY_LENGTH,
    MAX_SHORTCUT_LENGTH,
    VARIABLES,
)
from threadline.entrypoints.api.deps import PrincipalDep, RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import RowId, StrictBody

router = APIRouter(prefix="/api/v1", tags=["canned responses"])


class CannedResponseBody(StrictBody):
    shortcut: str = Field(
        min_length=1,
        # One more for a leading /, which the service drops.
        max_length=MAX_SHORTCUT_LENGTH + 1,
        description="e.g. `refund`; typed as /refund in the reply box",
    )
    title: str = Field(min_length=1, max_length=MAX_TITLE_LENGTH)
    body: str = Field(
        min_length=1,
        max_length=MAX_BODY_LENGTH,
        description="Text with placeholders such as {{customer.first_name}} or "
        "{{customer.first_name | there}} (a fallback when the value is empty)",
    )


@router.get("/canned-responses/variables")
async def get_variables(principal: PrincipalDep) -> dict[str, str]:
    """The variables a canned response or suggested reply may use, with their meaning."""
    return dict(VARIABLES)


@router.get("/canned-responses")
async def list_canned_responses(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    q: Annotated[
        str | None,
        Query(max_length=100, description="Shortcut prefix (a leading / is ignored) or title word"),
    ] = None,
) -> list[dict[str, Any]]:
    """All canned responses by shortcut, or those matching `q`: the exact shortcut first,
    then shortcuts starting with it, then titles with a word starting with it."""
    async with runtime.sessionmaker() as session:
        rows = await search_canned_responses(session, principal, q)
    return [canned_response_view(r) for r in rows]


@router.post(
    "/canned-responses", status_code=status.HTTP_201_CREATED, responses=problem_responses(409)
)
async def post_canned_response(
    body: CannedResponseBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Supervisors and admins. An unknown {{variable}} or other template syntax is a 422."""
    async with runtime.uow() as uow:
        row = await create_canned_response(
            uow, principal, CannedResponseFields(body.shortcut, body.title, body.body)
        )
        await uow.commit()
        return canned_response_view(row)


@router.get("/canned-responses/{canned_response_id}")
async def get_one(
    canned_response_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        row = await get_canned_response(session, principal, canned_response_id)
    return canned_response_view(row)


@router.put("/canned-responses/{canned_response_id}", responses=problem_responses(409))
async def put_canned_response(
    canned_response_id: RowId,
    body: CannedResponseBody,
    principal: PrincipalDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Supervisors and admins: replace shortcut, title and body."""
    async with runtime.uow() as uow:
        row = await update_canned_response(
            uow,
            principal,
            canned_response_id,
            CannedResponseFields(body.shortcut, body.title, body.body),
        )
        await uow.commit()
        return canned_response_view(row)


@router.delete("/canned-responses/{canned_response_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_canned_response(
    canned_response_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> Response:
    async with runtime.uow() as uow:
        await delete_canned_response(uow, principal, canned_response_id)
        await uow.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/conversations/{conversation_id}/canned-responses/{canned_response_id}/render")
async def render_for_conversation(
    conversation_id: RowId, canned_response_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """The canned response with its variables filled in for this conversation and the calling
    agent: `{"text": ...}` goes into the reply box as plain text (nothing is sent)."""
    async with runtime.sessionmaker() as session:
        return await render_canned_response(session, principal, conversation_id, canned_response_id)
