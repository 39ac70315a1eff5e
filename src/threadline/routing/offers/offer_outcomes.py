"""Offer mode: the chosen agent is asked and must accept within the offer timeout.

Capacity: a pending offer *reserves* the agent's room (it is counted with their open work
under the same load lock as assignments), so an agent is never offered more than they could
accept, and accepting cannot fail for lack of room. The cost is that an ignored offer blocks
that room until it runs out; the timeout keeps that short, and an agent who lets
`max_missed_offers` offers in a row run out is set away so the queue stops waiting on them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from threadline.adapters.db import tables as t
from threadline.core.timers import cancel_timer
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.agent_profile import Presence
from threadline.domain.channels import Channel
from threadline.domain.conversations import ConversationStatus
from threadline.domain.errors import Conflict, Forbidden, NotFound
from threadline.domain.routing.steps import should_set_away
from threadline.domain.security.access import Principal
from threadline.routing.assignments.claims import claim
from threadline.routing.assignments.load import PENDING, lock_conversation
from threadline.routing.events import emit_offer_ended, offer_view
from threadline.routing.offers.offers import close_offer, end_offer, offer_timer_key
from threadline.routing.route import RouteResult, route
from threadline.routing.settings import step_settings
from threadline.routing.steps import ensure_progress, progress_of
from threadline.workspace.agents import emit_agent_updated, team_ids_of


async def _locked_offer(
    uow: UnitOfWork, workspace_id: int, offer_id: int
) -> tuple[t.RoutingOffer, t.Conversation]:
    """The offer and its conversation, locked in the routing lock order (conversation first)."""
    session = uow.session
    offer = (
        await session.execute(
            select(t.RoutingOffer).where(
                t.RoutingOffer.id == offer_id, t.RoutingOffer.workspace_id == workspace_id
            )
        )
    ).scalar_one_or_none()
    if offer is None:
        raise NotFound(f"offer {offer_id} not found")
    conversation = await lock_conversation(session, workspace_id, offer.conversation_id)
    if conversation is None:
        raise NotFound(f"offer {offer_id} not found")
    # Re-read now that the conversation lock is held: every change to an offer holds it.
    fresh = (
        await session.execute(
            select(t.RoutingOffer)
            .where(t.RoutingOffer.id == offer_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return fresh, conversation


def _check_mine(principal: Principal, offer: t.RoutingOffer) -> None:
    if principal.agent_id is None or principal.agent_id != offer.agent_id:
        raise Forbidden("only the agent an offer was made to can answer it")


async def accept_offer(uow: UnitOfWork, principal: Principal, offer_id: int) -> t.Assignment:
    offer, conversation = await _locked_offer(uow, principal.workspace_id, offer_id)
    _check_mine(principal, offer)
    now = uow.clock.now()
    if offer.status != PENDING:
        raise Conflict(f"this offer was already {offer.status}")
    if now >= offer.expires_at:
        raise Conflict("this offer has run out; the conversation goes to someone else")
    session = uow.session
    agent = await session.get(t.Agent, offer.agent_id)
    assert agent is not None
    # The reservation becomes the assignment: end the offer, then claim under the same lock.
    offer.status = "accepted"
    offer.answered_at = now
    await session.flush()
    waited = int((now - offer.offered_at).total_seconds())
    assignment = await claim(
        uow,
        conversation,
        agent,
        Channel(offer.channel),
        f"{offer.reason}. Offered and accepted after {waited} s",
        "offer",
    )
    if assignment is None:
        # Only when the agent's own capacity was lowered while the offer was out.
        raise Conflict(f"{agent.name} has no room for this conversation any more")
    # claim holds the agent's load row, locked and fresh, in this session.
    load = await session.get(t.AgentLoad, agent.id)
    assert load is not None
    load.missed_offers = 0
    await cancel_timer(uow, principal.workspace_id, offer_timer_key(offer.id))
    await session.flush()
    emit_offer_ended(uow, offer, "accepted")
    return assignment


async def decline_offer(uow: UnitOfWork, principal: Principal, offer_id: int) -> RouteResult:
    """Declined: the next agent is offered the conversation at once."""
    offer, conversation = await _locked_offer(uow, principal.workspace_id, offer_id)
    _check_mine(principal, offer)
    if offer.status != PENDING:
        raise Conflict(f"this offer was already {offer.status}")
    agent = await uow.session.get(t.Agent, offer.agent_id)
    assert agent is not None
    load = await close_offer(uow, offer, "declined", "declined")
    load.missed_offers = 0  # an answer, even a no, is not a missed offer
    return await _offer_to_next(uow, conversation, offer, f"{agent.name} declined it")


async def expire_offer(uow: UnitOfWork, workspace_id: int, offer_id: int) -> None:
    """The offer timer fired: the offer runs out, counts as missed, the next agent is asked."""
    session = uow.session
    try:
        offer, conversation = await _locked_offer(uow, workspace_id, offer_id)
    except NotFound:
        return
    if offer.status != PENDING:
        return
    agent = await session.get(t.Agent, offer.agent_id)
    assert agent is not None
    load = await end_offer(uow, offer, "expired")
    emit_offer_ended(uow, offer, "not answered in time")
    load.missed_offers = load.missed_offers + 1
    steps = await step_settings(session, workspace_id, conversation.team_id)
    missed = load.missed_offers
    # Presence as it is now that end_offer holds the agent's lock: not set back to away
    # someone who went offline meanwhile.
    await session.refresh(agent, ["presence"])
    if should_set_away(missed, steps) and agent.presence == Presence.ONLINE.value:
        agent.presence = Presence.AWAY.value
        load.missed_offers = 0
        await session.flush()
        teams = await team_ids_of(session, [agent.id])
        emit_agent_updated(uow, agent, teams[agent.id], why=f"missed {missed} offers in a row")
    await session.flush()
    await _offer_to_next(uow, conversation, offer, f"{agent.name} did not answer in time")


async def _offer_to_next(
    uow: UnitOfWork, conversation: t.Conversation, offer: t.RoutingOffer, why: str
) -> RouteResult:
    """Pass over the agent who said no (or nothing) for this conversation, and route it again
    while it is still open and unassigned (not, say, snoozed meanwhile)."""
    session = uow.session
    progress = ensure_progress(
        session, conversation, await progress_of(session, conversation.id), uow.clock.now()
    )
    progress.passed_over = sorted({*(progress.passed_over or []), offer.agent_id})
    await session.flush()
    if conversation.status != ConversationStatus.OPEN.value or conversation.assignee_id:
        return RouteResult(None, f"{why}; the conversation is no longer waiting")
    return await route(uow, conversation.workspace_id, conversation.id, because=why)


async def list_my_offers(uow: UnitOfWork, principal: Principal) -> list[dict[str, Any]]:
    if principal.agent_id is None:
        raise Forbidden("offers are made to signed-in agents")
    rows = await uow.session.execute(
        select(t.RoutingOffer)
        .where(
            t.RoutingOffer.workspace_id == principal.workspace_id,
            t.RoutingOffer.agent_id == principal.agent_id,
            t.RoutingOffer.status == PENDING,
        )
        .order_by(t.RoutingOffer.offered_at, t.RoutingOffer.id)
    )
    return [offer_view(o) for o in rows.scalars()]
