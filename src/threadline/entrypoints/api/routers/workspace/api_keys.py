"""Workspace API keys (admins only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import Field

from threadline.entrypoints.api.deps import AdminDep, RuntimeDep
from threadline.entrypoints.api.schemas import RowId, StrictBody
from threadline.workspace import api_key_view, issue_api_key, list_api_keys, revoke_api_key

router = APIRouter(prefix="/api/v1/api-keys", tags=["api keys"])


class ApiKeyBody(StrictBody):
    name: str = Field(min_length=1, max_length=200, description="Who or what uses the key")


@router.get("")
async def get_api_keys(principal: AdminDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    async with runtime.sessionmaker() as session:
        return [api_key_view(k) for k in await list_api_keys(session, principal)]


@router.post("", status_code=status.HTTP_201_CREATED)
async def post_api_key(
    body: ApiKeyBody, principal: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """The response carries the key itself; it is shown this once and never again."""
    async with runtime.uow() as uow:
        key, plaintext = await issue_api_key(uow, principal, body.name)
        await uow.commit()
        return {**api_key_view(key), "key": plaintext}


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_api_key(key_id: RowId, principal: AdminDep, runtime: RuntimeDep) -> Response:
    """Revokes the key at once; apps using it get 401 from then on."""
    async with runtime.uow() as uow:
        await revoke_api_key(uow, principal, key_id)
        await uow.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
