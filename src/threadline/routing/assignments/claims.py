"""Assignments: claiming a conversation for an agent under their load lock, releasing it, and
the stored history of who had it and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_visible_conversation
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.channels import Channel
from threadline.domain.routing.capacity import Capacity
from threadline.domain.security.access import Principal
from threadline.routing.assignments.load import lock_load, open_work_of, reserve_room, store_load
from threadline.routing.candidates import capacity_of
from threadline.routing.events import assignment_view, emit_assignment, emit_routing_update


def new_assignment(
    conversation: t.Conversation,
    agent: t.Agent,
    channel: Channel,
    capacity: Capacity,
    reason: str,
    mode: str,
    now: datetime,
) -> t.Assignment:
    """The assignment row (not added to the session)."""
    return t.Assignment(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        agent_id=agent.id,
        channel=channel.value,
        cost=capacity.cost(channel),
        assigned_at=now,
        released_at=None,
        reason=reason,
        mode=mode,
    )


def add_assignment(
    uow: UnitOfWork,
    conversation: t.Conversation,
    agent: t.Agent,
    channel: Channel,
    capacity: Capacity,
    reason: str,
    mode: str,
    now: datetime,
    *,
    conversation_changed: bool = True,
) -> t.Assignment:
    """The assignment row and its events; the caller holds both locks and checked room."""
    assignment = new_assignment(conversation, agent, channel, capacity, reason, mode, now)
    uow.session.add(assignment)
    conversation.assignee_id = agent.id
    if conversation_changed:
        emit_routing_update(uow, conversation)
    return assignment


async def claim(
    uow: UnitOfWork,
    conversation: t.Conversation,
    agent: t.Agent,
    channel: Channel,
    reason: str,
    mode: str,
    *,
    check_capacity: bool = True,
    conversation_changed: bool = True,
) -> t.Assignment | None:
    """Assign under the agent's load lock; None when the agent has no room for it (any more).
    The conversation's routing progress (steps taken, agents passed over, a carried
    transfer note) ends with it, however it was assigned.

    The caller holds the conversation's row lock and has checked it is unassigned.
    """
    reserved = await reserve_room(uow, agent, channel, check_capacity=check_capacity)
    if reserved is None:
        return None
    capacity, now = reserved
    await uow.session.execute(
        delete(t.RoutingProgress).where(t.RoutingProgress.conversation_id == conversation.id)
    )
    assignment = add_assignment(
        uow,
        conversation,
        agent,
        channel,
        capacity,
        reason,
        mode,
        now,
        conversation_changed=conversation_changed,
    )
    await uow.session.flush()
    emit_assignment(uow, assignment, agent.name)
    return assignment


async def release(uow: UnitOfWork, conversation: t.Conversation) -> t.Assignment | None:
    """End the conversation's active assignment, freeing the agent's capacity."""
    session = uow.session
    active = await active_assignment(session, conversation.id)
    if active is None:
        return None
    agent = await session.get(t.Agent, active.agent_id)
    assert agent is not None
    load = await lock_load(session, agent, uow.clock.now())
    now = uow.clock.now()
    active.released_at = now
    await session.flush()
    capacity = await capacity_of(session, agent)
    store_load(load, capacity, await open_work_of(session, agent.id), now)
    await session.flush()
    return active


async def active_assignment(session: AsyncSession, conversation_id: int) -> t.Assignment | None:
    await session.flush()
    query = (
        select(t.Assignment)
        .where(t.Assignment.conversation_id == conversation_id, t.Assignment.released_at.is_(None))
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def list_assignments(
    session: AsyncSession, principal: Principal, conversation_id: int
) -> list[dict[str, Any]]:
    await get_visible_conversation(session, principal, conversation_id)
    rows = await session.execute(
        select(t.Assignment, t.Agent.name)
        .join(t.Agent, t.Agent.id == t.Assignment.agent_id)
        .where(
            t.Assignment.conversation_id == conversation_id,
            t.Assignment.workspace_id == principal.workspace_id,
        )
        .order_by(t.Assignment.assigned_at, t.Assignment.id)
    )
    return [assignment_view(a, name) for a, name in rows]
