"""Reads of the workspace's own rows for entry points before any use-case runs: the agent a
signed-in principal stands for, the workspace an email signs in to when none is named, and a
workspace by its slug (for the operator's commands, which have no principal)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.domain.security.access import Principal


async def signed_in_agent(session: AsyncSession, principal: Principal) -> t.Agent | None:
    """The agent behind an agent's principal (None for an API key's)."""
    return await session.get(t.Agent, principal.agent_id)


async def sole_workspace_of_email(session: AsyncSession, email: str) -> str:
    """The slug of the one workspace where this email is an agent; "" when there are none or
    several (then the sign-in form must name one)."""
    slugs = list(
        (
            await session.execute(
                select(t.Workspace.slug)
                .join(t.Agent, t.Agent.workspace_id == t.Workspace.id)
                .where(t.Agent.email == email.strip().lower())
                .limit(2)
            )
        ).scalars()
    )
    return slugs[0] if len(slugs) == 1 else ""


async def find_workspace(session: AsyncSession, slug: str) -> t.Workspace | None:
    found = await session.execute(select(t.Workspace).where(t.Workspace.slug == slug))
    return found.scalar_one_or_none()
