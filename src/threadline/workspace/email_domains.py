"""The mail domains a workspace may put its inbox addresses on.

Mail for an address goes to the one inbox that has it, so a workspace must not take
addresses on a domain that is not its own. The installation's operator, who knows which
company owns which domain, allows a domain for a workspace (`threadline email-domain allow`;
the demo seed allows its own demo domain the same way). A domain belongs to one workspace at
most. Workspace admins see their domains (`GET /api/v1/email-domains`) but cannot add any:
proving a domain by DNS would need a DNS client, which Threadline does not ship yet.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_workspace, list_scoped
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import iso
from threadline.domain.channels import Channel
from threadline.domain.errors import Conflict, Forbidden, NotFound
from threadline.domain.messaging.inbox_addresses import address_domain, normalise_mail_domain
from threadline.domain.security.access import Principal, Role, require_role

OPERATOR = "operator"
DOCS = "docs/channels/email.md"


def allow_command(slug: str, domain: str) -> str:
    return f"threadline email-domain allow --workspace {slug} --domain {domain}"


def email_domain_view(claim: t.EmailDomain) -> dict[str, Any]:
    return {
        "domain": claim.domain,
        "allowed_by": claim.allowed_by,
        "allowed_at": iso(claim.created_at),
    }


async def workspace_by_slug(session: AsyncSession, slug: str) -> t.Workspace:
    found = await session.execute(select(t.Workspace).where(t.Workspace.slug == slug))
    workspace = found.scalar_one_or_none()
    if workspace is None:
        raise NotFound(f"there is no workspace {slug!r}")
    return workspace


async def _claim(session: AsyncSession, domain: str) -> t.EmailDomain | None:
    found = await session.execute(select(t.EmailDomain).where(t.EmailDomain.domain == domain))
    return found.scalar_one_or_none()


async def allow_email_domain(
    uow: UnitOfWork, workspace_id: int, domain: str, *, allowed_by: str = OPERATOR
) -> t.EmailDomain:
    """An operator's decision (no workspace role can make it). Allowing a domain the workspace
    has already is harmless; one another workspace has is refused."""
    session = uow.session
    name = normalise_mail_domain(domain)
    claim = await _claim(session, name)
    if claim is not None:
        if claim.workspace_id == workspace_id:
            return claim
        owner = await get_workspace(session, claim.workspace_id)
        raise Conflict(
            f"the mail domain {name} is allowed for workspace {owner.slug!r} already; a domain"
            f" belongs to one workspace. To move it, first run: threadline email-domain revoke"
            f" --workspace {owner.slug} --domain {name}"
        )
    return await uow.add_or_conflict(
        t.EmailDomain(
            workspace_id=workspace_id,
            domain=name,
            allowed_by=allowed_by,
            created_at=uow.clock.now(),
        ),
        f"the mail domain {name} was allowed for a workspace just now",
    )


async def revoke_email_domain(uow: UnitOfWork, workspace_id: int, domain: str) -> None:
    """Refused while inboxes of the workspace still have addresses on the domain."""
    session = uow.session
    name = normalise_mail_domain(domain)
    claim = await _claim(session, name)
    workspace = await get_workspace(session, workspace_id)
    if claim is None or claim.workspace_id != workspace_id:
        raise NotFound(f"the mail domain {name} is not allowed for workspace {workspace.slug!r}")
    addresses = await session.execute(
        select(t.Inbox.id, t.Inbox.address).where(
            t.Inbox.workspace_id == workspace_id,
            t.Inbox.channel == Channel.EMAIL.value,
            t.Inbox.address.is_not(None),
        )
    )
    in_use = sorted(
        f"{address} (inbox {inbox_id})"
        for inbox_id, address in addresses
        if address and address_domain(address) == name
    )
    if in_use:
        raise Conflict(
            f"inboxes of workspace {workspace.slug!r} still use the mail domain {name}:"
            f" {', '.join(in_use)}; give them other addresses first"
        )
    await session.delete(claim)
    await session.flush()


async def all_email_domains(session: AsyncSession) -> list[tuple[t.EmailDomain, str]]:
    """Every allowed domain with its workspace's slug, for the operator."""
    rows = await session.execute(
        select(t.EmailDomain, t.Workspace.slug)
        .join(t.Workspace, t.Workspace.id == t.EmailDomain.workspace_id)
        .order_by(t.Workspace.slug, t.EmailDomain.domain)
    )
    return [(claim, str(slug)) for claim, slug in rows.all()]


async def list_email_domains(session: AsyncSession, principal: Principal) -> list[t.EmailDomain]:
    require_role(principal, Role.ADMIN)
    return await list_scoped(session, t.EmailDomain, principal.workspace_id, t.EmailDomain.domain)


async def require_domain_allowed(session: AsyncSession, workspace_id: int, address: str) -> None:
    """403 when the address's domain is allowed for no workspace, 409 when for another."""
    domain = address_domain(address)
    claim = await _claim(session, domain)
    if claim is not None and claim.workspace_id == workspace_id:
        return
    if claim is not None:
        raise Conflict(
            f"the mail domain {domain} belongs to another workspace of this installation, so"
            f" {address} cannot be an address of this one. If {domain} is your company's, ask"
            f" the installation's operator to move it to this workspace ({DOCS})"
        )
    workspace = await get_workspace(session, workspace_id)
    raise Forbidden(
        f"the mail domain {domain} is not allowed for this workspace yet, so {address} cannot"
        f" be an inbox address. Ask the installation's operator to allow it: "
        f"`{allow_command(workspace.slug, domain)}` ({DOCS})"
    )
