"""Routing one conversation: pick the best eligible agent with the domain rules and claim them
(or offer it to them), explaining why; when nobody is chosen, arm the next routing step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_visible_conversation
from threadline.core.timers import schedule_timer
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.access import Principal, Role, require_role
from threadline.domain.conversations import ConversationStatus
from threadline.domain.errors import NotFound
from threadline.domain.routing.scoring import AgentState, Weights, Work, choose_agent, score
from threadline.domain.routing.steps import relationship_agent, relaxed
from threadline.routing.candidates import agent_states
from threadline.routing.claims import claim
from threadline.routing.load import lock_conversation
from threadline.routing.offers import make_offer, pending_offer
from threadline.routing.settings import AUTO, step_settings, workspace_weights
from threadline.routing.steps import (
    STEP_TIMER,
    arm_next_step,
    ensure_progress,
    progress_of,
    step_timer_key,
)
from threadline.routing.work import work_for

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
    steps = await step_settings(session, workspace_id, conversation.team_id)
    progress = await progress_of(session, conversation.id)
    relax_level = progress.relax_level if progress is not None else 0
    base_work = work
    work = relaxed(work, relax_level, steps.relax_levels_per_step)
    passed = set(progress.passed_over) if progress is not None else set()
    weights = await workspace_weights(session, workspace_id)
    offer_mode = steps.offer_mode and mode in (AUTO, "queue", "transfer")
    carried = progress.carried_reason if progress is not None else ""
    prefix = "".join(f"{part}. " for part in (carried, because) if part)
    full: set[int] = set()
    why_nobody = "no agent is online"
    now = uow.clock.now()
    states, agents = await agent_states(session, conversation)
    states = [s for s in states if s.agent_id not in passed]
    sticky_done = progress is not None and progress.sticky_done
    for _attempt in range(MAX_CLAIM_ATTEMPTS):
        now = uow.clock.now()
        candidates = [s for s in states if s.agent_id not in full]
        best, refused = choose_agent(candidates, work, now, weights)
        sticky = None if sticky_done else relationship_agent(candidates, work, now, weights)
        # Only automatic routing waits: a supervisor routing by hand wants someone now.
        waits = mode == AUTO and steps.sticky_wait_seconds > 0
        if sticky is not None and not sticky.has_room and waits:
            name = agents[sticky.agent_id].name
            until = now + timedelta(seconds=steps.sticky_wait_seconds)
            if progress is not None and progress.sticky_until is not None:
                until = progress.sticky_until
            if now < until:
                progress = ensure_progress(session, conversation, progress, now)
                progress.sticky_agent_id = sticky.agent_id
                progress.sticky_until = until
                await schedule_timer(
                    uow,
                    workspace_id,
                    kind=STEP_TIMER,
                    key=step_timer_key(conversation.id),
                    fire_at=until,
                    payload={"conversation_id": conversation.id, "step": "sticky"},
                )
                await session.flush()
                return RouteResult(
                    None,
                    f"waiting up to {steps.sticky_wait_seconds} s for {name}, who handled "
                    "this customer before and is online but full",
                )
        if sticky is not None and sticky.has_room:
            [chosen_state] = [s for s in candidates if s.agent_id == sticky.agent_id]
            best = score(chosen_state, work, now, weights)
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
        reason = (
            prefix
            + _explain(
                candidates,
                agents,
                agent.id,
                best.explanation(agent.name),
                refused,
                work,
                now,
                weights,
            )
            + lead
        )
        chosen: t.Assignment | t.RoutingOffer | None
        if offer_mode:
            chosen = await make_offer(uow, conversation, agent, work.channel, reason, steps)
        else:
            chosen = await claim(uow, conversation, agent, work.channel, reason, mode)
        if chosen is not None:
            if isinstance(chosen, t.RoutingOffer):
                return RouteResult(None, "offered: " + reason, offer=chosen)
            return RouteResult(chosen, reason)
        # Someone else filled this agent between our look and our lock: try the next best.
        full.add(agent.id)
        why_nobody = f"{agent.name} filled up meanwhile"
    await arm_next_step(uow, conversation, progress, base_work, steps, now)
    return RouteResult(None, prefix + why_nobody)


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
    return await route(uow, principal.workspace_id, conversation_id, mode="requested")
