"""Routing steps of a waiting conversation (wait for the relationship agent, relax skill
levels, overflow to another team): its progress so far and the timer that takes the next
step (the rules are in domain/routing/steps.py, the timer's handler in handlers.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.timers import schedule_timer, timer_key
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.routing.scoring import Work
from threadline.domain.routing.steps import StepSettings, next_step

# The step timer's kind (its handler is in handlers.py).
STEP_TIMER = "routing.step"


def step_timer_key(conversation_id: int) -> str:
    return timer_key(STEP_TIMER, conversation_id)


async def progress_of(session: AsyncSession, conversation_id: int) -> t.RoutingProgress | None:
    return await session.get(t.RoutingProgress, conversation_id)


def ensure_progress(
    session: AsyncSession,
    conversation: t.Conversation,
    progress: t.RoutingProgress | None,
    now: datetime,
) -> t.RoutingProgress:
    if progress is not None:
        progress.updated_at = now
        return progress
    progress = t.RoutingProgress(
        conversation_id=conversation.id,
        workspace_id=conversation.workspace_id,
        relax_level=0,
        sticky_agent_id=None,
        sticky_until=None,
        sticky_done=False,
        overflowed=False,
        passed_over=[],
        carried_reason="",
        updated_at=now,
    )
    session.add(progress)
    return progress


async def arm_next_step(
    uow: UnitOfWork,
    conversation: t.Conversation,
    progress: t.RoutingProgress | None,
    work: Work,
    steps: StepSettings,
    now: datetime,
) -> None:
    """Nobody took the work: when it is still waiting after a while, relax or overflow.
    `work` is as the conversation asks, before any relaxation."""
    level = progress.relax_level if progress is not None else 0
    overflowed = progress.overflowed if progress is not None else False
    step = next_step(work, level, overflowed, conversation.team_id, steps)
    if step is None:
        return
    # Already armed for this step: keep its time (a customer writing again while waiting
    # must not push the escalation further out).
    armed = (
        await uow.session.execute(
            select(t.Timer.payload).where(
                t.Timer.workspace_id == conversation.workspace_id,
                t.Timer.key == step_timer_key(conversation.id),
                t.Timer.status == "armed",
            )
        )
    ).scalar_one_or_none()
    if armed is not None and armed.get("step") == step.kind:
        return
    await schedule_timer(
        uow,
        conversation.workspace_id,
        kind=STEP_TIMER,
        key=step_timer_key(conversation.id),
        fire_at=now + step.after,
        payload={"conversation_id": conversation.id, "step": step.kind},
    )
