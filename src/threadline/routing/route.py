"""Routing one conversation: pick the best eligible agent with the domain rules and claim them
(or offer it to them), explaining why; when nobody is chosen, arm the next routing step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.audit import record_change
from threadline.core.lookups import get_visible_conversation
from threadline.core.timers import schedule_timer
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.conversations import ConversationStatus
from threadline.domain.errors import NotFound
from threadline.domain.routing.scoring import AgentState, Weights, Work, choose_agent, score
from threadline.domain.routing.steps import StepSettings, Sticky, relationship_agent, relaxed
from threadline.domain.security.access import Principal, Role, require_role
from threadline.routing.assignments.claims import claim
from threadline.routing.assignments.load import lock_conversation
from threadline.routing.assignments.work import work_for
from threadline.routing.candidates import agent_states
from threadline.routing.offers.offers import make_offer, pending_offer
from threadline.routing.settings import AUTO, step_settings, workspace_weights
from threadline.routing.steps import (
    STEP_TIMER,
    arm_next_step,
    ensure_progress,
    progress_of,
    step_timer_key,
)

# How many other agents a failed claim (someone else filled them first) may fall back to.
MAX_CLAIM_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class RouteResult:
    assignment: t.Assignment | None
    # Why this agent, or why nobody.
    explanation: str
    # Offer mode: the offer made instead of an assignment.
    offer: t.RoutingOffer | None = None


async def route(
    uow: UnitOfWork,
    workspace_id: int,
    conversation_id: int,
    *,
    mode: str = AUTO,
    because: str = "",
) -> RouteResult:
    """Pick and claim (or, in offer mode, offer) the best agent for a waiting conversation.

    `because` (e.g. "transferred by ...", "skill levels relaxed by 2") starts the stored
    explanation. When nobody is chosen, the next routing step is armed as a durable timer.
    """
    session = uow.session
    conversation = await lock_conversation(session, workspace_id, conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} not found")
    if conversation.status == ConversationStatus.RESOLVED.value:
        return RouteResult(None, "the conversation is resolved")
    if conversation.assignee_id is not None:
        return RouteResult(None, "the conversation already has an agent")
    work = await work_for(session, conversation)
    if work is None:
        return RouteResult(None, "the customer has not written in on any channel yet")
    offered = await pending_offer(session, conversation.id)
    if offered is not None:
        return RouteResult(None, f"offered to agent {offered.agent_id}, waiting for an answer")
    routing = await _routing_of(session, conversation, work, mode, because)
    return await _claim_best(uow, routing)


@dataclass(frozen=True, slots=True)
class _Routing:
    """What routing one conversation goes by: its work as relaxed so far, its progress
    through the routing steps and the workspace's settings."""

    conversation: t.Conversation
    mode: str
    # As the conversation asks, before any relaxation: the next step is chosen from it.
    base_work: Work
    work: Work
    steps: StepSettings
    progress: t.RoutingProgress | None
    weights: Weights
    offer_mode: bool
    # Starts every explanation: a carried transfer note and why this routing happens.
    prefix: str


async def _routing_of(
    session: AsyncSession, conversation: t.Conversation, work: Work, mode: str, because: str
) -> _Routing:
    steps = await step_settings(session, conversation.workspace_id, conversation.team_id)
    progress = await progress_of(session, conversation.id)
    relax_level = progress.relax_level if progress is not None else 0
    weights = await workspace_weights(session, conversation.workspace_id)
    carried = progress.carried_reason if progress is not None else ""
    return _Routing(
        conversation=conversation,
        mode=mode,
        base_work=work,
        work=relaxed(work, relax_level, steps.relax_levels_per_step),
        steps=steps,
        progress=progress,
        weights=weights,
        offer_mode=steps.offer_mode and mode in (AUTO, "queue", "transfer"),
        prefix="".join(f"{part}. " for part in (carried, because) if part),
    )


async def _claim_best(uow: UnitOfWork, r: _Routing) -> RouteResult:
    """Claim (or offer to) the best agent, falling back to the next best when someone else
    filled them between our look and our lock; else arm the next routing step."""
    progress = r.progress
    passed = set(progress.passed_over) if progress is not None else set()
    full: set[int] = set()
    why_nobody = "no agent is online"
    now = uow.clock.now()
    states, agents = await agent_states(uow.session, r.conversation)
    states = [s for s in states if s.agent_id not in passed]
    sticky_done = progress is not None and progress.sticky_done
    for _attempt in range(MAX_CLAIM_ATTEMPTS):
        now = uow.clock.now()
        candidates = [s for s in states if s.agent_id not in full]
        best, refused = choose_agent(candidates, r.work, now, r.weights)
        sticky = None if sticky_done else relationship_agent(candidates, r.work, now, r.weights)
        # Only automatic routing waits: a supervisor routing by hand wants someone now.
        waits = r.mode == AUTO and r.steps.sticky_wait_seconds > 0
        if sticky is not None and not sticky.has_room and waits:
            waiting = await _wait_for_relationship_agent(uow, r, sticky, agents, now)
            if waiting is not None:
                return waiting
        if sticky is not None and sticky.has_room:
            [chosen_state] = [s for s in candidates if s.agent_id == sticky.agent_id]
            best = score(chosen_state, r.work, now, r.weights)
            lead = ". Preferred as this customer's relationship agent"
        else:
            lead = ""
        if best is None:
            if refused:
                why_nobody = "nobody is eligible: " + ", ".join(
                    f"{agents[i].name} ({why})" for i, why in sorted(refused.items())[:10]
                )
            break
        agent = agents[best.agent_id]
        explained = _explain(
            candidates,
            agents,
            agent.id,
            best.explanation(agent.name),
            refused,
            r.work,
            now,
            r.weights,
        )
        result = await _claim_or_offer(uow, r, agent, r.prefix + explained + lead)
        if result is not None:
            return result
        full.add(agent.id)
        why_nobody = f"{agent.name} filled up meanwhile"
    await arm_next_step(uow, r.conversation, progress, r.base_work, r.steps, now)
    return RouteResult(None, r.prefix + why_nobody)


async def _wait_for_relationship_agent(
    uow: UnitOfWork,
    r: _Routing,
    sticky: Sticky,
    agents: Mapping[int, t.Agent],
    now: datetime,
) -> RouteResult | None:
    """The customer's relationship agent is online but full: wait for them a while (a durable
    timer ends the wait); None once the wait is over."""
    conversation, progress, steps = r.conversation, r.progress, r.steps
    name = agents[sticky.agent_id].name
    until = now + timedelta(seconds=steps.sticky_wait_seconds)
    if progress is not None and progress.sticky_until is not None:
        until = progress.sticky_until
    if now >= until:
        return None
    progress = ensure_progress(uow.session, conversation, progress, now)
    progress.sticky_agent_id = sticky.agent_id
    progress.sticky_until = until
    await schedule_timer(
        uow,
        conversation.workspace_id,
        kind=STEP_TIMER,
        key=step_timer_key(conversation.id),
        fire_at=until,
        payload={"conversation_id": conversation.id, "step": "sticky"},
    )
    await uow.session.flush()
    return RouteResult(
        None,
        f"waiting up to {steps.sticky_wait_seconds} s for {name}, who handled "
        "this customer before and is online but full",
    )


async def _claim_or_offer(
    uow: UnitOfWork, r: _Routing, agent: t.Agent, reason: str
) -> RouteResult | None:
    """None when the agent has no room any more."""
    channel = r.work.channel
    if r.offer_mode:
        offer = await make_offer(uow, r.conversation, agent, channel, reason, r.steps)
        return None if offer is None else RouteResult(None, "offered: " + reason, offer=offer)
    assignment = await claim(uow, r.conversation, agent, channel, reason, r.mode)
    return None if assignment is None else RouteResult(assignment, reason)


def _explain(
    states: list[AgentState],
    agents: Mapping[int, t.Agent],
    chosen_id: int,
    chosen_text: str,
    refused: Mapping[int, str],
    work: Work,
    now: datetime,
    weights: Weights,
) -> str:
    parts = [chosen_text]
    others = sorted(
        (score(s, work, now, weights) for s in states if s.agent_id not in refused),
        key=lambda c: -c.score,
    )
    runners = [c for c in others if c.agent_id != chosen_id][:3]
    if runners:
        parts.append(
            "ahead of " + ", ".join(f"{agents[c.agent_id].name} ({c.score:.2f})" for c in runners)
        )
    if refused:
        parts.append(
            "not eligible: "
            + ", ".join(f"{agents[i].name} ({why})" for i, why in sorted(refused.items())[:10])
        )
    return ". ".join(parts)


async def route_conversation(
    uow: UnitOfWork, workspace_id: int, conversation_id: int, *, mode: str = AUTO
) -> t.Assignment | None:
    """Assign the conversation to the best eligible agent with room, or leave it waiting."""
    return (await route(uow, workspace_id, conversation_id, mode=mode)).assignment


async def route_now(uow: UnitOfWork, principal: Principal, conversation_id: int) -> RouteResult:
    require_role(principal, Role.SUPERVISOR)
    await get_visible_conversation(uow.session, principal, conversation_id)
    result = await route(uow, principal.workspace_id, conversation_id, mode="requested")
    # Asked for, whatever came of it (an assignment is also the conversation's own entry).
    await record_change(
        uow.session,
        principal.workspace_id,
        "conversation.routing_requested",
        "conversation",
        str(conversation_id),
        after={
            "assignee_id": result.assignment.agent_id if result.assignment else None,
            "explanation": result.explanation,
        },
    )
    return result
