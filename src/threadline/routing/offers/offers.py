"""Making and ending offers (offer mode): an offer reserves the agent's room like a claim, arms
the timer that runs it out, and frees the room when it is withdrawn, declined or runs out.
What happens when an agent answers, or does not, is in offer_outcomes.py."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.timers import cancel_timer, schedule_timer, timer_key
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.channels import Channel
from threadline.domain.events import AssignmentOffered
from threadline.domain.routing.capacity import Capacity
from threadline.domain.routing.steps import StepSettings
from threadline.routing.assignments.load import (
    PENDING,
    lock_load,
    open_work_of,
    reserve_room,
    store_load,
)
from threadline.routing.candidates import capacity_of
from threadline.routing.events import emit_offer_ended, offer_view

# The offer timer's kind (its handler is in handlers.py).
OFFER_TIMER = "routing.offer"


def offer_timer_key(offer_id: int) -> str:
    return timer_key(OFFER_TIMER, offer_id)


async def make_offer(
    uow: UnitOfWork,
    conversation: t.Conversation,
    agent: t.Agent,
    channel: Channel,
    reason: str,
    steps: StepSettings,
) -> t.RoutingOffer | None:
    """Offer mode: reserve room with the agent (under their load lock, like a claim) and ask
    them; a durable timer withdraws the offer when it is not answered in time."""
    reserved = await reserve_room(uow, agent, channel)
    if reserved is None:
        return None
    capacity, now = reserved
    offer = add_offer(uow, conversation, agent, channel, capacity, reason, steps, now)
    await uow.session.flush()
    await arm_offer(uow, offer, agent.name)
    return offer


def add_offer(
    uow: UnitOfWork,
    conversation: t.Conversation,
    agent: t.Agent,
    channel: Channel,
    capacity: Capacity,
    reason: str,
    steps: StepSettings,
    now: datetime,
) -> t.RoutingOffer:
    offer = t.RoutingOffer(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        agent_id=agent.id,
        channel=channel.value,
        cost=capacity.cost(channel),
        reason=reason,
        status=PENDING,
        offered_at=now,
        expires_at=now + timedelta(seconds=steps.offer_timeout_seconds),
        answered_at=None,
    )
    uow.session.add(offer)
    return offer


async def arm_offer(uow: UnitOfWork, offer: t.RoutingOffer, agent_name: str) -> None:
    await schedule_timer(
        uow,
        offer.workspace_id,
        kind=OFFER_TIMER,
        key=offer_timer_key(offer.id),
        fire_at=offer.expires_at,
        payload={"offer_id": offer.id},
    )
    uow.emit(
        offer.workspace_id,
        AssignmentOffered(offer_view(offer, agent_name)),
    )


async def pending_offer(session: AsyncSession, conversation_id: int) -> t.RoutingOffer | None:
    await session.flush()
    query = (
        select(t.RoutingOffer)
        .where(t.RoutingOffer.conversation_id == conversation_id, t.RoutingOffer.status == PENDING)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def end_offer(uow: UnitOfWork, offer: t.RoutingOffer, status: str) -> t.AgentLoad:
    """Close a pending offer (the caller holds the conversation's lock), freeing its room;
    returns the agent's load row, still locked."""
    session = uow.session
    agent = await session.get(t.Agent, offer.agent_id)
    assert agent is not None
    load = await lock_load(session, agent, uow.clock.now())
    now = uow.clock.now()
    offer.status = status
    offer.answered_at = now
    await session.flush()
    store_load(load, await capacity_of(session, agent), await open_work_of(session, agent.id), now)
    await session.flush()
    return load


async def withdraw_offer(uow: UnitOfWork, conversation: t.Conversation, why: str) -> None:
    """A pending offer of this conversation is withdrawn (resolved, assigned by hand...)."""
    offer = await pending_offer(uow.session, conversation.id)
    if offer is not None:
        await close_offer(uow, offer, "withdrawn", why)


async def close_offer(uow: UnitOfWork, offer: t.RoutingOffer, status: str, why: str) -> t.AgentLoad:
    """End a pending offer before its timer fires (withdrawn, declined): its room is freed,
    its timer disarmed, and everyone told why. Returns the agent's load row, still locked."""
    load = await end_offer(uow, offer, status)
    await cancel_timer(uow, offer.workspace_id, offer_timer_key(offer.id))
    emit_offer_ended(uow, offer, why)
    return load
