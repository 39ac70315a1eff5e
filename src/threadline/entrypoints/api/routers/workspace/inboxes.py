"""Inboxes: a workspace's channel accounts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import Field

from threadline.core.views import inbox_view
from threadline.domain.channels import Channel
from threadline.entrypoints.api.deps import AdminDep, PrincipalDep, RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import RowId, StrictBody
from threadline.workspace import add_inbox, list_inboxes, update_inbox

router = APIRouter(prefix="/api/v1/inboxes", tags=["inboxes"])

SETTINGS_HELP = (
    "Provider settings; an API inbox takes `webhook_url`, where replies are posted. Settings"
    " named like a secret (`smtp_password`, `imap_password`, `access_token`, `verify_token`,"
    " `webhook_secret`: any name with password, secret, token, credential or a final key) are"
    " write-only. On PATCH, `settings` replaces the other settings; a secret left out keeps"
    " its stored value and a secret set to null is removed. `webhook_url`, `smtp_host` and"
    " `imap_host` may not name internal addresses (loopback, private, link-local, metadata …)"
    " unless the installation allows them: 422 names the rule."
)
ADDRESS_HELP = (
    "The channel address. An email inbox's address is normalised (lower case), must be on a"
    " mail domain the installation's operator allowed for this workspace (403 otherwise,"
    " 409 when another workspace has the domain) and belongs to this inbox only (409)."
)
SECRET_HELP = "Write-only signing secret (or a provider's token, see the channel's docs)"
VIEW_HELP = (
    "Secrets are never returned, to anyone: `has_secret` says whether the signing secret is"
    " set, and the write-only settings are left out of `settings` and listed by name in"
    ' `write_only_settings_set` (e.g. `["imap_password", "smtp_password"]`).'
)


class InboxBody(StrictBody):
    name: str = Field(min_length=1, max_length=200)
    channel: Channel
    address: str | None = Field(default=None, max_length=320, description=ADDRESS_HELP)
    settings: dict[str, Any] = Field(default_factory=dict, description=SETTINGS_HELP)
    secret: str | None = Field(default=None, min_length=16, max_length=200, description=SECRET_HELP)
    team_id: RowId | None = None


class InboxPatchBody(StrictBody):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=320, description=ADDRESS_HELP)
    settings: dict[str, Any] | None = Field(default=None, description=SETTINGS_HELP)
    secret: str | None = Field(default=None, min_length=16, max_length=200, description=SECRET_HELP)
    team_id: RowId | None = None


@router.get("", description=f"The workspace's inboxes. {VIEW_HELP}")
async def get_inboxes(principal: PrincipalDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    async with runtime.sessionmaker() as session:
        return [inbox_view(i) for i in await list_inboxes(session, principal)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    description=f"Admins only. {VIEW_HELP}",
    responses=problem_responses(403, 409),
)
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
            egress=runtime.settings.egress_policy(),
        )
        await uow.commit()
        return inbox_view(inbox)


@router.patch(
    "/{inbox_id}",
    description=f"Admins only. {VIEW_HELP}",
    responses=problem_responses(403, 409),
)
async def patch_inbox(
    inbox_id: RowId, body: InboxPatchBody, principal: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        inbox = await update_inbox(
            uow,
            principal,
            inbox_id,
            body.model_dump(include=body.model_fields_set),
            egress=runtime.settings.egress_policy(),
        )
        await uow.commit()
        return inbox_view(inbox)
