"""How far a workspace's set-up has come, for the console's "get started" checklist: each
step is done when the workspace has what the step sets up."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.domain.security.access import Principal, Role, require_role


@dataclass(frozen=True, slots=True)
class SetupStep:
    key: str
    done: bool
    path: str


async def _count(session: AsyncSession, model: type[t.Base], workspace_id: int) -> int:
    column = model.__table__.c.workspace_id
    found = await session.scalar(
        select(func.count()).select_from(model).where(column == workspace_id)
    )
    return int(found or 0)


async def setup_steps(session: AsyncSession, principal: Principal) -> list[SetupStep]:
    """In the order a new admin takes them: a channel to be reached on, the people who
    answer, their teams, then a first conversation to see it all work."""
    require_role(principal, Role.ADMIN)
    workspace = principal.workspace_id
    inboxes = await _count(session, t.Inbox, workspace)
    agents = await _count(session, t.Agent, workspace)
    teams = await _count(session, t.Team, workspace)
    conversations = await _count(session, t.Conversation, workspace)
    return [
        SetupStep("channel", inboxes > 0, "/app/admin/channels"),
        SetupStep("people", agents > 1, "/app/admin/people#invite"),
        SetupStep("teams", teams > 0, "/app/admin/people#teams"),
        SetupStep("conversation", conversations > 0, "/app/conversations"),
    ]
