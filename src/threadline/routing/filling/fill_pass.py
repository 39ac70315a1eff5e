"""One fill pass: in one transaction, lock the requesting agents, match the head of the queue
to them (planned by fill_plan.py) and write the assignments and offers in a few statements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from threadline.adapters.db import tables as t
from threadline.adapters.db.bulk_rows import insert_rows, update_rows
from threadline.adapters.db.id_lists import among
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.conversations import ConversationStatus
from threadline.domain.routing.scoring import AgentState
from threadline.domain.routing.steps import StepSettings
from threadline.routing.assignments.claims import new_assignment
from threadline.routing.assignments.load import LockedAgents, agent_states_locked, load_values
from threadline.routing.events import emit_assignment, emit_routing_update
from threadline.routing.filling.fill_plan import (
    Choice,
    PassAgents,
    Planned,
    as_locked,
    hand_out,
    plan_pass,
    plan_still_holds,
    reason_for,
    room_for_anything,
)
from threadline.routing.offers.offers import add_offer, arm_offer
from threadline.routing.queue import no_pending_offer
from threadline.routing.settings import AUTO, step_settings, weights_from

# How many agents one pass serves; more wait for the next pass (which follows at once).
# Passes run one at a time per workspace, so a pass should take every request pending when a
# burst comes (from all processes): with 64, 128 agents coming online at once from two
# processes needed two passes back to back and throughput fell by a fifth.
MAX_AGENTS_PER_PASS = 128

StepsFor = Callable[[int | None], Awaitable[StepSettings]]


async def fill_pass(uow: UnitOfWork, workspace_id: int) -> tuple[int, int]:
    """One transaction: serve up to MAX_AGENTS_PER_PASS fill requests. Returns how many
    requests were taken and how many conversations were assigned or offered."""
    session = uow.session
    # Held in a local for the whole pass: the session keeps rows only weakly.
    settings_row = await _lock_settings(session, workspace_id)
    if settings_row is None or settings_row.mode != AUTO:
        # Manual mode fills nobody; requests written before the switch are void.
        await session.execute(
            delete(t.RoutingFillRequest).where(t.RoutingFillRequest.workspace_id == workspace_id)
        )
        return 0, 0
    requested = await _take_requests(session, workspace_id)
    if not requested:
        return 0, 0
    locked = await agent_states_locked(session, workspace_id, requested, uow.clock.now())
    # Read once the agents' locks are granted: the stored history then orders this pass's
    # assignments after any release it waited for.
    now = uow.clock.now()
    # Deleted only now: a presence change that holds an agent's row and writes a new request
    # would otherwise wait for this deletion while this pass waits for that agent's row.
    await session.execute(
        delete(t.RoutingFillRequest).where(among(session, t.RoutingFillRequest.agent_id, requested))
    )
    states = {
        s.agent_id: s
        for s in locked.states
        if s.online and room_for_anything(s.capacity, s.open_work)
    }
    if not states:
        return len(requested), 0
    work = PassAgents(
        states=dict(states),
        teams={agent_id: locked.teams[agent_id] for agent_id in states},
        weights=weights_from(settings_row.weights or {}),
        now=now,
    )
    placed = await _fill(uow, workspace_id, locked, states, work)
    return len(requested), placed


async def _lock_settings(session: AsyncSession, workspace_id: int) -> t.RoutingSettings | None:
    """The workspace's routing settings row, locked: one pass at a time per workspace, across
    processes, as concurrent passes would plan the same head of the queue and skip each
    other's rows, leaving agents unfilled."""
    return (
        await session.execute(
            select(t.RoutingSettings)
            .where(t.RoutingSettings.workspace_id == workspace_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def _take_requests(session: AsyncSession, workspace_id: int) -> list[int]:
    """The agents of up to MAX_AGENTS_PER_PASS requests no other pass holds, in id order."""
    return list(
        (
            await session.execute(
                select(t.RoutingFillRequest.agent_id)
                .where(t.RoutingFillRequest.workspace_id == workspace_id)
                .order_by(t.RoutingFillRequest.agent_id)
                .limit(MAX_AGENTS_PER_PASS)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
    )


def _steps_by_team(session: AsyncSession, workspace_id: int) -> StepsFor:
    """Each team's step settings, read once per pass."""
    steps_of: dict[int | None, StepSettings] = {}

    async def steps_for(team_id: int | None) -> StepSettings:
        if team_id not in steps_of:
            steps_of[team_id] = await step_settings(session, workspace_id, team_id)
        return steps_of[team_id]

    return steps_for


async def _fill(
    uow: UnitOfWork,
    workspace_id: int,
    locked: LockedAgents,
    states: dict[int, AgentState],
    work: PassAgents,
) -> int:
    """Hand the head of the queue to the pass's agents with room; returns how many
    conversations were assigned or offered."""
    session = uow.session
    steps_for = _steps_by_team(session, workspace_id)
    # Plan without conversation locks: in queue order, who of these agents takes what.
    seen, progress, past, plan = await plan_pass(
        session,
        workspace_id,
        work,
        sorted({team for member_of in work.teams.values() for team in member_of}),
        steps_for,
    )
    if not plan:
        return 0
    conversations, progress = await _lock_planned(session, workspace_id, plan)
    if not conversations:
        return 0
    relocked = [await as_locked(session, c, seen[c.id]) for c in conversations]
    choices = plan_still_holds(plan, relocked, progress)
    if choices is None:
        # Something changed between the plan and the locks: hand the locked ones out again.
        work = replace(work, states=dict(states), indexes={})
        choices = [
            (await hand_out(work, c, progress.get(c.conversation_id), steps_for, past))
            for c in relocked
        ]
    handed = await _hand_over(uow, conversations, choices, progress, steps_for, work, locked)
    if not handed.offers and not handed.assignments:
        return 0
    await _write(uow, handed, locked, states, work, progress)
    return len(handed.offers) + len(handed.assignments)


async def _lock_planned(
    session: AsyncSession, workspace_id: int, plan: list[Planned]
) -> tuple[list[t.Conversation], dict[int, t.RoutingProgress]]:
    """The planned conversations still waiting, locked and re-read in plan order, with their
    routing progress; those another router holds are skipped, not waited for."""
    position = {item.candidate.conversation_id: n for n, item in enumerate(plan)}
    locked_rows = (
        await session.execute(
            select(t.Conversation, t.RoutingProgress)
            .outerjoin(t.RoutingProgress, t.RoutingProgress.conversation_id == t.Conversation.id)
            .where(
                among(session, t.Conversation.id, position),
                t.Conversation.workspace_id == workspace_id,
                t.Conversation.assignee_id.is_(None),
                t.Conversation.status == ConversationStatus.OPEN.value,
                no_pending_offer(),
            )
            .with_for_update(of=t.Conversation, skip_locked=True)
            .execution_options(populate_existing=True)
        )
    ).all()
    # Ordered here, not in SQL: SKIP LOCKED never waits, so the order rows are locked in
    # cannot deadlock.
    conversations = sorted((row[0] for row in locked_rows), key=lambda c: position[c.id])
    progress = {row[0].id: row[1] for row in locked_rows if row[1] is not None}
    return conversations, progress


@dataclass
class _HandedOver:
    offers: list[t.RoutingOffer]
    # Not added to the session: written in one statement, not by the ORM's flush.
    assignments: list[t.Assignment]
    # Conversations assigned whose routing progress ends with it.
    done_progress: list[int]
    agents: dict[int, t.Agent]


async def _hand_over(
    uow: UnitOfWork,
    conversations: list[t.Conversation],
    choices: list[Choice | None],
    progress: dict[int, t.RoutingProgress],
    steps_for: StepsFor,
    work: PassAgents,
    locked: LockedAgents,
) -> _HandedOver:
    """The offers and assignments for the chosen agents (written later, by `_write`)."""
    now = work.now
    handed = _HandedOver([], [], [], {agent.id: agent for agent in locked.agents})
    for conversation, chosen in zip(conversations, choices, strict=True):
        if chosen is None:
            continue
        mark = progress.get(conversation.id)
        steps = await steps_for(conversation.team_id)
        agent, channel = handed.agents[chosen.agent_id], chosen.channel
        reason = reason_for(agent.name, chosen)
        if mark is not None and mark.carried_reason:
            reason = f"{mark.carried_reason}. {reason}"
        capacity = work.states[agent.id].capacity
        if steps.offer_mode:
            handed.offers.append(
                add_offer(uow, conversation, agent, channel, capacity, reason, steps, now)
            )
            continue
        handed.assignments.append(
            new_assignment(conversation, agent, channel, capacity, reason, "queue", now)
        )
        # As written by `_write` (the session is not to write it again).
        set_committed_value(conversation, "assignee_id", agent.id)
        emit_routing_update(uow, conversation)
        if mark is not None:
            handed.done_progress.append(conversation.id)
    return handed


async def _write(
    uow: UnitOfWork,
    handed: _HandedOver,
    locked: LockedAgents,
    states: dict[int, AgentState],
    work: PassAgents,
    progress: dict[int, t.RoutingProgress],
) -> None:
    """Write the pass in a few statements: the agents' loads, the ended routing progress,
    the assignments; then arm the offers and announce the assignments."""
    session = uow.session
    loads = _changed_loads(locked.loads, states, work)
    if handed.done_progress:
        for conversation_id in handed.done_progress:
            session.expunge(progress[conversation_id])
        await session.execute(
            delete(t.RoutingProgress).where(
                among(session, t.RoutingProgress.conversation_id, handed.done_progress)
            )
        )
    await session.flush()
    await update_rows(session, t.AgentLoad, "agent_id", loads)
    await _write_assignments(session, handed.assignments)
    for offer in handed.offers:
        await arm_offer(uow, offer, handed.agents[offer.agent_id].name)
    for assignment in handed.assignments:
        emit_assignment(uow, assignment, handed.agents[assignment.agent_id].name)


def _changed_loads(
    rows: list[t.AgentLoad], before: dict[int, AgentState], work: PassAgents
) -> list[dict[str, Any]]:
    """The new values of the load rows whose open work the pass changed, one dict a row."""
    loads = []
    for load in rows:
        was = before.get(load.agent_id)
        now = work.states.get(load.agent_id)
        if was is not None and now is not None and now.open_work != was.open_work:
            changed = load_values(load, now.capacity, now.open_work, work.now)
            loads.append({"agent_id": load.agent_id, **changed})
            # As written by `_write`, in one statement for all of them (not by the session).
            for name, value in changed.items():
                set_committed_value(load, name, value)
    return loads


async def _write_assignments(session: AsyncSession, assignments: list[t.Assignment]) -> None:
    """The pass's assignments and their conversations' assignee, one statement each; the
    assignments get their ids."""
    columns = [column.key for column in t.Assignment.__table__.columns if column.key != "id"]
    written = await insert_rows(
        session,
        t.Assignment,
        [{name: getattr(a, name) for name in columns} for a in assignments],
        returning=("id", "conversation_id"),
    )
    ids = {row.conversation_id: row.id for row in written}
    for assignment in assignments:
        assignment.id = ids[assignment.conversation_id]
    await update_rows(
        session,
        t.Conversation,
        "id",
        [{"id": a.conversation_id, "assignee_id": a.agent_id} for a in assignments],
    )
