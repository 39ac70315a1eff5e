"""Creating workspaces, agents and inboxes."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select

from threadline.adapters.db import tables as t
from threadline.content.wrap_up_codes import add_default_codes
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.channels import Channel
from threadline.domain.customers.identities import normalise_sign_in_email
from threadline.domain.errors import Conflict
from threadline.domain.security.access import Role
from threadline.domain.security.secret_settings import merge_settings
from threadline.workspace.auth import hash_password
from threadline.workspace.inbox_addresses import claim_email_address, save_inbox


async def create_workspace(
    uow: UnitOfWork, *, name: str, slug: str, default_region: str = "US", timezone: str = "UTC"
) -> t.Workspace:
    session = uow.session
    if (await session.execute(select(t.Workspace).where(t.Workspace.slug == slug))).first():
        raise Conflict(f"a workspace with the slug {slug!r} exists already")
    workspace = t.Workspace(
        name=name,
        slug=slug,
        default_region=default_region.upper(),
        timezone=timezone,
        reopen_window_seconds=7 * 24 * 3600,
        agents_see_all=True,
        event_seq=0,
        created_at=uow.clock.now(),
    )
    session.add(workspace)
    await session.flush()
    await add_default_codes(uow, workspace.id)
    return workspace


async def create_agent(
    uow: UnitOfWork,
    workspace_id: int,
    *,
    email: str,
    name: str,
    role: Role,
    password: str | None = None,
    photo_url: str | None = None,
    skills: dict[str, int] | None = None,
    channel_competences: dict[str, int] | None = None,
    languages: list[str] | None = None,
    capacity: dict[str, Any] | None = None,
) -> t.Agent:
    session = uow.session
    normalised = normalise_sign_in_email(email)
    clash = await session.execute(
        select(t.Agent.id).where(t.Agent.workspace_id == workspace_id, t.Agent.email == normalised)
    )
    if clash.first():
        raise Conflict(f"an agent with the email {normalised} exists already in this workspace")
    agent = t.Agent(
        workspace_id=workspace_id,
        email=normalised,
        name=name,
        photo_url=photo_url,
        role=role.value,
        password_hash=hash_password(password) if password else None,
        skills=dict(skills or {}),
        channel_competences=dict(channel_competences or {}),
        languages=list(languages or []),
        capacity=dict(capacity or {}),
        presence="offline",
        active=True,
        created_at=uow.clock.now(),
    )
    session.add(agent)
    await session.flush()
    # Their load row from the start: the first fill pass that serves them then only locks it
    # (routing creates it for agents that predate it).
    session.add(t.AgentLoad(**empty_load(agent, agent.created_at)))
    await session.flush()
    return agent


def empty_load(agent: t.Agent, now: datetime) -> dict[str, Any]:
    """The load row of an agent with no open work: written here with the agent, and by routing
    for an agent whose row is missing (routing/assignments/load.py)."""
    return {
        "agent_id": agent.id,
        "workspace_id": agent.workspace_id,
        "load": 0,
        "open_work": {},
        "version": 0,
        "updated_at": now,
    }


async def create_inbox(
    uow: UnitOfWork,
    workspace_id: int,
    *,
    name: str,
    channel: Channel,
    address: str | None = None,
    settings: dict[str, Any] | None = None,
    secret: str | None = None,
    team_id: int | None = None,
) -> t.Inbox:
    """An email inbox's address must be on a domain the workspace may use (see
    workspace/email_domains.py) and no other inbox's; secrets set to null in `settings` are
    left out."""
    session = uow.session
    clash = await session.execute(
        select(t.Inbox.id).where(t.Inbox.workspace_id == workspace_id, t.Inbox.name == name)
    )
    if clash.first():
        raise Conflict(f"an inbox named {name!r} exists already in this workspace")
    if channel is Channel.EMAIL and address is not None:
        address = await claim_email_address(session, workspace_id, address)
    inbox = t.Inbox(
        workspace_id=workspace_id,
        name=name,
        channel=channel.value,
        address=address,
        settings=merge_settings({}, settings or {}),
        # Every inbox gets a signing secret, so webhooks to and from it can be verified.
        secret=secret or secrets.token_urlsafe(32),
        team_id=team_id,
        created_at=uow.clock.now(),
    )
    session.add(inbox)
    await save_inbox(session, inbox)
    return inbox
