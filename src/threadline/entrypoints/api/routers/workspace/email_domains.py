"""The mail domains this workspace may put inbox addresses on (admins only, read-only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from threadline.entrypoints.api.deps import AdminDep, RuntimeDep
from threadline.workspace import email_domain_view, list_email_domains

router = APIRouter(prefix="/api/v1/email-domains", tags=["inboxes"])


@router.get(
    "",
    description=(
        "The mail domains the installation's operator allowed for this workspace: an email"
        " inbox address must be on one of them. Domains are added by the operator with"
        " `threadline email-domain allow --workspace SLUG --domain DOMAIN`, not through the API."
    ),
)
async def get_email_domains(principal: AdminDep, runtime: RuntimeDep) -> list[dict[str, Any]]:
    async with runtime.sessionmaker() as session:
        return [email_domain_view(d) for d in await list_email_domains(session, principal)]
