"""Inboxes: a workspace's channel accounts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import Field

from threadline.domain.channels import Channel
from threadline.entrypoints.api.deps import AdminDep, PrincipalDep, RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import RowId, StrictBody
from threadline.services.inboxes import add_inbox, list_inboxes, update_inbox
from threadline.services.views import inbox_view

router = APIRouter(prefix="/api/v1/inboxes", tags=["inboxes"])

SETTINGS_HELP = "Provider settings; an API inbox takes `webhook_url`, where replies are posted"


class InboxBody(StrictBody):
    name: str = Field(min_length=1, max_length=200)
    channel: Channel
    address: str | None = Field(default=None, max_length=320)
    settings: dict[str, Any] = Field(default_factory=dict, description=SETTINGS_HELP)
    secret: str | None = Field(
        default=None, min_length=16, max_length=200, description="Write-only signing secret"
    )
    team_id: RowId | None = None


class InboxPatchBody(StrictBody):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=320)
    settings: dict[str, Any] | None = Field(default=None, description=SETTINGS_HELP)
    secret: str | None = Field(
        default=None, min_length=16, max_length=200, description="Write-only signing secret"
    )
    team_id: RowId | None = None


@router.get("")
async def get_inboxes(principal: PrincipalDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    async with runtime.sessionmaker() as session:
        return [inbox_view(i) for i in await list_inboxes(session, principal)]


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(409))
async def post_inbox(body: InboxBody, principal: AdminDep, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.uow() as uow:
        inbox = await add_inbox(
            uow,
            principal,
            name=body.name,
            channel=body.channel,
            address=body.address,
            settings=body.settings,
            secret=body.secret,
            team_id=body.team_id,
        )
        await uow.commit()
        return inbox_view(inbox)


@router.patch("/{inbox_id}", responses=problem_responses(409))
async def patch_inbox(
    inbox_id: RowId, body: InboxPatchBody, principal: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        inbox = await update_inbox(
            uow, principal, inbox_id, body.model_dump(include=body.model_fields_set)
        )
        await uow.commit()
        return inbox_view(inbox)
