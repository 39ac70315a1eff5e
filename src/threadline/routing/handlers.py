"""Routing reacts to what happens, inside the transaction that made it happen:
work arrives (an inbound message on an unassigned conversation, in auto mode), a conversation
is resolved or handed over (its assignment ends, freeing capacity for the queue), an agent
is deactivated (their work goes back to the queue: assignments/departure.py), and an agent
comes online (their room is filled from the queue once the change commits: fill.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from threadline.adapters.db import tables as t
from threadline.core.handlers import HandlerMap, on
from threadline.core.timers import TimerHandlerMap
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.agent_profile import Presence
from threadline.domain.conversations import ConversationStatus
from threadline.domain.events import AgentUpdated, ConversationUpdated, MessageCreated
from threadline.routing.assignments.departure import release_work_of
from threadline.routing.assignments.load import lock_conversation
from threadline.routing.events import emit_routing_update
from threadline.routing.filling.fill import request_fill
from threadline.routing.filling.reconcile import reconcile
from threadline.routing.offers.offer_outcomes import expire_offer
from threadline.routing.offers.offers import OFFER_TIMER
from threadline.routing.route import route, route_conversation
from threadline.routing.settings import is_auto, step_settings
from threadline.routing.steps import STEP_TIMER, ensure_progress, progress_of


async def on_conversation_updated(
    uow: UnitOfWork, workspace_id: int, event: ConversationUpdated
) -> None:
    # Routing's own updates are already consistent with the history.
    if event.routing or event.conversation_id is None:
        return
    if event.status_changed is False:
        return  # a message joined an open conversation: status and assignee are as they were
    await reconcile(
        uow, workspace_id, event.conversation_id, from_inbound=event.placement is not None
    )


async def on_message_created(uow: UnitOfWork, workspace_id: int, event: MessageCreated) -> None:
    if not event.from_customer:
        return
    if event.conversation_id is None or not await is_auto(uow.session, workspace_id):
        return
    conversation = await uow.session.get(t.Conversation, event.conversation_id)
    if (
        conversation is None
        or conversation.assignee_id is not None
        or conversation.status != ConversationStatus.OPEN.value
    ):
        return
    await route_conversation(uow, workspace_id, event.conversation_id)


async def on_agent_updated(uow: UnitOfWork, workspace_id: int, event: AgentUpdated) -> None:
    if event.agent_id is None:
        return
    if event.agent.get("active") is False:
        agent = await uow.session.get(t.Agent, event.agent_id)
        if agent is not None and not agent.active:
            await release_work_of(uow, workspace_id, agent)
        return
    if event.presence == Presence.ONLINE.value:
        await request_fill(uow, workspace_id, event.agent_id)


async def on_step_timer(
    uow: UnitOfWork, workspace_id: int, payload: dict[str, Any], fired_at: datetime
) -> None:
    """A waiting conversation's next routing step is due: stop waiting for the relationship
    agent, lower the skill levels one step, or overflow to the next team; then route."""
    session = uow.session
    if not await is_auto(session, workspace_id):
        return
    conversation = await lock_conversation(session, workspace_id, int(payload["conversation_id"]))
    if (
        conversation is None
        or conversation.assignee_id is not None
        or conversation.status != ConversationStatus.OPEN.value
    ):
        return
    steps = await step_settings(session, workspace_id, conversation.team_id)
    progress = ensure_progress(
        session, conversation, await progress_of(session, conversation.id), fired_at
    )
    step = payload.get("step")
    if step == "sticky":
        progress.sticky_done = True
        waited_for = (
            await session.get(t.Agent, progress.sticky_agent_id)
            if progress.sticky_agent_id is not None
            else None
        )
        name = waited_for.name if waited_for is not None else "the relationship agent"
        because = f"waited {steps.sticky_wait_seconds} s for {name}, who stayed full"
    elif step == "relax":
        progress.relax_level = progress.relax_level + 1
        lowered = progress.relax_level * steps.relax_levels_per_step
        because = (
            f"still waiting after {steps.relax_after_seconds} s: "
            f"required skill levels lowered by {lowered}"
        )
    elif step == "overflow":
        team = (
            await session.get(t.Team, steps.overflow_team_id)
            if steps.overflow_team_id is not None
            else None
        )
        if team is None or team.workspace_id != workspace_id:
            return
        progress.overflowed = True
        conversation.team_id = team.id
        because = (
            f"still waiting after {steps.overflow_after_seconds} s: overflowed to team {team.name}"
        )
    else:
        return
    await session.flush()
    result = await route(uow, workspace_id, conversation.id, because=because)
    if step == "overflow" and result.assignment is None:
        # Assigned, the assignment's update already shows the new team; else say so here.
        emit_routing_update(uow, conversation)


async def on_offer_timer(
    uow: UnitOfWork, workspace_id: int, payload: dict[str, Any], fired_at: datetime
) -> None:
    await expire_offer(uow, workspace_id, int(payload["offer_id"]))


EVENT_HANDLERS: HandlerMap = (
    on(ConversationUpdated, on_conversation_updated),
    on(MessageCreated, on_message_created),
    on(AgentUpdated, on_agent_updated),
)

TIMER_HANDLERS: TimerHandlerMap = {
    STEP_TIMER: on_step_timer,
    OFFER_TIMER: on_offer_timer,
}
