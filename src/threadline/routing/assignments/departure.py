"""A deactivated agent's work goes back to the queue: their pending offers are withdrawn and
their open conversations released, each routed again at once in auto mode (or left waiting,
unassigned, in the queue otherwise), with the reason in the next assignment's explanation."""

from __future__ import annotations

from sqlalchemy import select

from threadline.adapters.db import tables as t
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.conversations import ConversationStatus
from threadline.routing.assignments.claims import release
from threadline.routing.events import emit_routing_update
from threadline.routing.offers.offers import close_offer
from threadline.routing.route import route
from threadline.routing.settings import is_auto
from threadline.routing.steps import ensure_progress, progress_of


async def release_work_of(uow: UnitOfWork, workspace_id: int, agent: t.Agent) -> list[int]:
    """The ids of the conversations put back in the queue (in id order, so two releases
    lock rows in the same order)."""
    session = uow.session
    because = f"{agent.name} was deactivated"
    offers = (
        await session.execute(
            select(t.RoutingOffer)
            .where(
                t.RoutingOffer.workspace_id == workspace_id,
                t.RoutingOffer.agent_id == agent.id,
                t.RoutingOffer.status == "pending",
            )
            .order_by(t.RoutingOffer.conversation_id)
        )
    ).scalars()
    offered = []
    for offer in list(offers):
        await close_offer(uow, offer, "withdrawn", because)
        offered.append(offer.conversation_id)
    assigned = (
        await session.execute(
            select(t.Conversation)
            .where(
                t.Conversation.workspace_id == workspace_id,
                t.Conversation.assignee_id == agent.id,
                t.Conversation.status != ConversationStatus.RESOLVED.value,
            )
            .order_by(t.Conversation.id)
            .with_for_update()
        )
    ).scalars()
    auto = await is_auto(session, workspace_id)
    released = []
    for conversation in list(assigned):
        await release(uow, conversation)
        conversation.assignee_id = None
        progress = await progress_of(session, conversation.id)
        ensure_progress(session, conversation, progress, uow.clock.now()).carried_reason = because
        await session.flush()
        released.append(conversation.id)
    for conversation_id in sorted({*offered, *released}):
        result = await route(uow, workspace_id, conversation_id) if auto else None
        if result is None or (result.assignment is None and result.offer is None):
            waiting = await session.get(t.Conversation, conversation_id)
            if waiting is not None:
                emit_routing_update(uow, waiting)
    return sorted({*offered, *released})
