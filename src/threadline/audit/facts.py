"""Audit entries for what is not a row changing through the ORM: signing in and out, and the
few changes made with one Core statement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from threadline.adapters.db import tables as t
from threadline.audit.capture import named_actor, scope_now, write_entry
from threadline.audit.scope import current_scope
from threadline.domain.audit import Actor, ActorKind, shown_fields


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


async def record_change(
    session: AsyncSession,
    workspace_id: int,
    action: str,
    object_type: str,
    object_id: str | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """An entry for a change made round the ORM (one statement on a hot path, a bulk update,
    a request that changed nothing but is worth knowing), by this request's actor; nothing
    when nobody acts (workers, timers)."""
    scope = current_scope()
    if scope is None or scope.actor is None:
        return

    def write(sync: Session) -> None:
        connection = sync.connection()
        write_entry(
            connection,
            workspace_id=workspace_id,
            actor=named_actor(connection, scope),
            at=scope_now(scope),
            action=action,
            object_type=object_type,
            object_id=object_id,
            before=None if before is None else shown_fields(before),
            after=None if after is None else shown_fields(after),
            scope=scope,
        )

    await session.run_sync(write)
