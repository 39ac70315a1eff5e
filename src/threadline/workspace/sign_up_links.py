"""One-time links mailed to agents: an invitation (the admin names the new agent and their
role; they choose a password and join) and a password reset (asked for on the sign-in page,
or sent by an admin). Only the token's digest is stored; a link works once, for a while.

The mail itself goes out through the workspace's relay (integrations/email/account_mail.py);
what its relay answered is kept with the link, so the console can say so and offer the link
to copy instead."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_scoped
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import iso
from threadline.domain.errors import Conflict, DomainError
from threadline.domain.security.access import Principal, Role, require_role
from threadline.workspace.agents import NewAgent, add_agent
from threadline.workspace.auth import token_digest
from threadline.workspace.passwords import check_new_password, set_password

INVITE = "invite"
RESET = "reset"
LIFETIMES = {INVITE: timedelta(days=7), RESET: timedelta(hours=1)}
# Asked for from the sign-in page by anyone who types an address: a few an hour at most.
RESETS_PER_HOUR = 3


class LinkNotUsable(DomainError):
    status = 410
    title = "Link no longer valid"


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """A link just made, with what its mail needs; the token is in no log and no repr."""

    link_id: int
    purpose: str
    token: str = field(repr=False)
    workspace_id: int
    workspace_name: str
    agent_name: str
    agent_email: str
    expires_at: datetime

    @property
    def is_invitation(self) -> bool:
        return self.purpose == INVITE


async def invite_agent(
    uow: UnitOfWork, principal: Principal, *, email: str, name: str, role: Role
) -> IssuedLink:
    """A new agent, without a password until they follow the link."""
    require_role(principal, Role.ADMIN)
    agent = await add_agent(uow, principal, NewAgent(email=email, name=name, role=role))
    return await _issue(uow, agent, INVITE, principal.agent_id)


async def invite_again(uow: UnitOfWork, principal: Principal, agent_id: int) -> IssuedLink:
    """A fresh invitation for an agent who never joined (the earlier one stops working)."""
    require_role(principal, Role.ADMIN)
    agent = await get_scoped(uow.session, t.Agent, principal.workspace_id, agent_id, lock=True)
    if agent.password_hash is not None:
        raise Conflict(f"{agent.name} has joined already; send a password reset instead")
    return await _issue(uow, agent, INVITE, principal.agent_id)


async def reset_link_from_admin(uow: UnitOfWork, principal: Principal, agent_id: int) -> IssuedLink:
    require_role(principal, Role.ADMIN)
    agent = await get_scoped(uow.session, t.Agent, principal.workspace_id, agent_id, lock=True)
    if not agent.active:
        raise Conflict(f"{agent.name} is deactivated; reactivate them first")
    return await _issue(uow, agent, RESET, principal.agent_id)


async def reset_link_asked_for(uow: UnitOfWork, workspace_id: int, email: str) -> IssuedLink | None:
    """From the sign-in page: None when there is no such active agent, or they asked too
    often this hour (the page answers the same either way, naming no account)."""
    session = uow.session
    agent = (
        await session.execute(
            select(t.Agent)
            .where(t.Agent.workspace_id == workspace_id, t.Agent.email == email.strip().lower())
            .with_for_update()
        )
    ).scalar_one_or_none()
    if agent is None or not agent.active:
        return None
    hour_ago = uow.clock.now() - timedelta(hours=1)
    recent = await session.scalar(
        select(func.count()).where(
            t.SignUpLink.agent_id == agent.id,
            t.SignUpLink.purpose == RESET,
            t.SignUpLink.created_at > hour_ago,
        )
    )
    if (recent or 0) >= RESETS_PER_HOUR:
        return None
    return await _issue(uow, agent, RESET, None)


async def _issue(
    uow: UnitOfWork, agent: t.Agent, purpose: str, by_agent_id: int | None
) -> IssuedLink:
    now = uow.clock.now()
    await _void_open_links(uow.session, agent.id, now)
    token = secrets.token_urlsafe(32)
    link = t.SignUpLink(
        workspace_id=agent.workspace_id,
        agent_id=agent.id,
        purpose=purpose,
        token_hash=token_digest(token),
        created_by_agent_id=by_agent_id,
        created_at=now,
        expires_at=now + LIFETIMES[purpose],
    )
    uow.session.add(link)
    await uow.session.flush()
    workspace = await uow.session.get(t.Workspace, agent.workspace_id)
    assert workspace is not None
    return IssuedLink(
        link_id=link.id,
        purpose=purpose,
        token=token,
        workspace_id=agent.workspace_id,
        workspace_name=workspace.name,
        agent_name=agent.name,
        agent_email=agent.email,
        expires_at=link.expires_at,
    )


async def _void_open_links(session: AsyncSession, agent_id: int, now: datetime) -> None:
    """Only the newest link of an agent works: an earlier one mailed or copied stops."""
    await session.execute(
        update(t.SignUpLink)
        .where(
            t.SignUpLink.agent_id == agent_id,
            t.SignUpLink.used_at.is_(None),
            t.SignUpLink.expires_at > now,
        )
        .values(expires_at=now)
    )


async def _usable(
    session: AsyncSession, token: str, now: datetime, *, lock: bool = False
) -> tuple[t.SignUpLink, t.Agent]:
    query = (
        select(t.SignUpLink, t.Agent)
        .join(t.Agent, t.Agent.id == t.SignUpLink.agent_id)
        .where(t.SignUpLink.token_hash == token_digest(token[:200]))
    )
    found = (await session.execute(query.with_for_update() if lock else query)).one_or_none()
    if found is None:
        raise LinkNotUsable("this link is not known; ask for a new one")
    link, agent = found
    if link.used_at is not None:
        raise LinkNotUsable("this link was used already; sign in, or ask for a new one")
    if link.expires_at <= now:
        raise LinkNotUsable("this link has expired; ask for a new one")
    if not agent.active:
        raise LinkNotUsable("this account is deactivated")
    return link, agent


async def open_link(session: AsyncSession, token: str, now: datetime) -> dict[str, Any]:
    """What the link's page shows before a password is chosen; LinkNotUsable otherwise."""
    link, agent = await _usable(session, token, now)
    workspace = await session.get(t.Workspace, agent.workspace_id)
    assert workspace is not None
    return {
        "purpose": link.purpose,
        "agent_name": agent.name,
        "agent_email": agent.email,
        "workspace_name": workspace.name,
        "workspace_slug": workspace.slug,
        "expires_at": iso(link.expires_at),
    }


async def use_link(uow: UnitOfWork, token: str, password: str, repeated: str) -> t.Agent:
    """The agent's password is set (their other sessions end); the link is spent."""
    now = uow.clock.now()
    link, agent = await _usable(uow.session, token, now, lock=True)
    check_new_password(password, repeated)
    set_password(agent, password, now)
    link.used_at = now
    await uow.session.flush()
    return agent


async def record_link_mail(uow: UnitOfWork, link_id: int, error: str | None) -> None:
    link = await uow.session.get(t.SignUpLink, link_id)
    if link is not None:
        link.mailed_at = None if error else uow.clock.now()
        link.mail_error = error[:300] if error else None


async def invitations_of(session: AsyncSession, principal: Principal) -> dict[int, dict[str, Any]]:
    """By agent id: the newest invitation of each agent who has not joined yet."""
    require_role(principal, Role.ADMIN)
    rows = await session.execute(
        select(t.SignUpLink)
        .join(t.Agent, t.Agent.id == t.SignUpLink.agent_id)
        .where(
            t.SignUpLink.workspace_id == principal.workspace_id,
            t.SignUpLink.purpose == INVITE,
            t.Agent.password_hash.is_(None),
        )
        .order_by(t.SignUpLink.id)
    )
    return {
        link.agent_id: {
            "expires_at": link.expires_at,
            "mail_error": link.mail_error,
            "mailed_at": link.mailed_at,
        }
        for link in rows.scalars()
    }
