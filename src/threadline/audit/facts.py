"""Audit facts that are not a row changing through the ORM: signing in and out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from threadline.adapters.db import tables as t
from threadline.audit.capture import write_entry
from threadline.audit.scope import current_scope
from threadline.domain.audit import Actor, ActorKind


async def record_fact(
    session: AsyncSession,
    workspace_id: int,
    actor: Actor,
    now: datetime,
    action: str,
    object_type: str,
    object_id: str | None,
) -> None:
    """Write one entry in `session`'s transaction (the caller commits it with its change)."""
    scope = current_scope()

    def write(sync: Session) -> None:
        write_entry(
            sync.connection(),
            workspace_id=workspace_id,
            actor=actor,
            at=now,
            action=action,
            object_type=object_type,
            object_id=object_id,
            scope=scope,
        )

    await session.run_sync(write)


async def record_sign_in(
    session: AsyncSession,
    *,
    workspace_slug: str,
    email: str,
    agent: t.Agent | None,
    succeeded: bool,
    now: datetime,
) -> None:
    """A sign-in, or a failed one, as its own committed entry: a failure must stay recorded
    although the request is refused. A failure in a workspace that does not exist is not
    anyone's workspace's fact, and is not recorded."""
    if agent is not None:
        workspace_id: int | None = agent.workspace_id
        actor = Actor(ActorKind.AGENT, agent.id, agent.name)
    else:
        workspace_id = (
            await session.execute(select(t.Workspace.id).where(t.Workspace.slug == workspace_slug))
        ).scalar_one_or_none()
        actor = Actor(ActorKind.VISITOR, None, email.strip().lower()[:320])
    if workspace_id is None:
        return
    action = "sign_in.succeeded" if succeeded else "sign_in.failed"
    object_id = str(agent.id) if agent is not None else None
    await record_fact(session, workspace_id, actor, now, action, "agent", object_id)
    await session.commit()
