"""Filling agents' free room from the queue: many agents in one transaction.

An agent who comes online or frees capacity does not pull work inside the transaction of that
change. That transaction writes a fill request (`request_fill`, a row, so it survives a crash)
and, once it has committed, a fill pass runs before `commit` returns. A pass takes every
request of the workspace it can lock (up to MAX_AGENTS_PER_PASS), locks those agents, and
matches the head of the queue to them in queue order, each conversation to the best of those
agents with room (the decision index over just them), all in one transaction.

Passes coalesce like a group commit: in one process, at most one pass per workspace runs at a
time, and a caller whose request was written while a pass ran waits for the next pass, which
serves every request written meanwhile. So one agent coming online costs one small pass, and
two hundred coming online at once cost a few large ones, with a handful of statements per
pass instead of per assignment.

Locks: requests are taken with SKIP LOCKED (two passes never serve the same agent; another
process's pass serves what this one skips). Then the agents' rows and their load rows, in
agent id order — the order a presence change and `claim` take them, one agent at a time — and
then the conversations, in queue order with SKIP LOCKED, which never waits. Under the locks
each agent's open work is counted again from the assignments and offers; the partial unique
index on active assignments stays the last backstop. A pass that fails leaves its requests in
place and is retried; the timer worker serves requests left over by a crash when it starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import BigInteger, bindparam, delete, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from threadline.adapters.db import tables as t
from threadline.adapters.db.bulk_rows import insert_rows, update_rows
from threadline.adapters.db.engine import on_postgresql
from threadline.adapters.db.id_lists import among
from threadline.adapters.db.inserts import insert_ignoring_conflict
from threadline.adapters.db.types import UTCDateTime
from threadline.core.unit_of_work import UnitOfWork, UnitOfWorkFactory, worth_retrying
from threadline.domain.channels import Channel
from threadline.domain.conversations import ConversationStatus
from threadline.domain.routing.capacity import Capacity
from threadline.domain.routing.index import RoutingIndex
from threadline.domain.routing.queue import QueuePolicy, queue_order
from threadline.domain.routing.scoring import AgentState, Weights, Work, choose_agent
from threadline.domain.routing.steps import StepSettings, relaxed
from threadline.routing.service import (
    AUTO,
    add_offer,
    agent_states_locked,
    arm_offer,
    emit_assignment,
    emit_routing_update,
    is_auto,
    load_values,
    new_assignment,
    no_pending_offer,
    past_contacts_of_customers,
    step_settings,
    waiting_rows,
    weights_from,
    work_for,
    work_from,
)

log = structlog.get_logger(__name__)

# How many agents one pass serves; more wait for the next pass (which follows at once).
# Passes run one at a time per workspace, so a pass should take every request pending when a
# burst comes (from all processes): with 64, 128 agents coming online at once from two
# processes needed two passes back to back and throughput fell by a fifth.
MAX_AGENTS_PER_PASS = 128
# A pass looks this far down the queue per conversation its agents could take at most
# (at least MIN_SCAN: work needing skills they lack is passed over).
SCAN_PER_SLOT = 3
# It looks first at the conversations they have room for and a quarter more.
FIRST_LOOK_MARGIN = 4
MIN_SCAN = 40
MAX_SCAN = 2_000
# A failed pass (a deadlock or serialisation failure PostgreSQL chose us for) is retried.
MAX_ATTEMPTS = 3
_SHARED_KEY = "routing.fill"


async def request_fill(uow: UnitOfWork, workspace_id: int, agent_id: int) -> None:
    """Ask for the agent's free room to be filled from the queue once this change commits
    (auto mode only)."""
    if not await _write_request_in_auto_mode(uow.session, workspace_id, agent_id, uow.clock.now()):
        return
    factory = uow.factory

    async def fill() -> None:
        await fill_requested(factory, workspace_id)

    uow.after_commit((_SHARED_KEY, workspace_id), fill)


# PostgreSQL: whether the workspace routes automatically and, if so, the request written, in
# one statement (a presence change runs it, and the fewer round trips the better).
_REQUEST_IN_AUTO_MODE = text(
    """
        WITH auto AS (
            SELECT workspace_id FROM routing_settings
            WHERE workspace_id = :workspace_id AND mode = 'auto'
        ), written AS (
            INSERT INTO routing_fill_requests (agent_id, workspace_id, requested_at)
            SELECT :agent_id, workspace_id, :requested_at FROM auto
            ON CONFLICT DO NOTHING
        )
        SELECT count(*) FROM auto
        """
).bindparams(
    bindparam("workspace_id", type_=BigInteger()),
    bindparam("agent_id", type_=BigInteger()),
    bindparam("requested_at", type_=UTCDateTime()),
)


async def _write_request_in_auto_mode(
    session: AsyncSession, workspace_id: int, agent_id: int, now: datetime
) -> bool:
    """Write the agent's fill request if the workspace routes automatically (an existing
    request stands); returns whether it does."""
    if on_postgresql(session):
        found = await session.scalar(
            _REQUEST_IN_AUTO_MODE,
            {"workspace_id": workspace_id, "agent_id": agent_id, "requested_at": now},
        )
        return bool(found)
    if not await is_auto(session, workspace_id):
        return False
    await insert_ignoring_conflict(
        session,
        t.RoutingFillRequest,
        {"agent_id": agent_id, "workspace_id": workspace_id, "requested_at": now},
    )
    return True


@dataclass
class _Passes:
    """One workspace's fill passes in this process: requests are numbered as they arrive; a
    pass serves every request numbered before it started."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    requested: int = 0
    served: int = 0


async def fill_requested(factory: UnitOfWorkFactory, workspace_id: int) -> int:
    """Serve the workspace's fill requests (at least every one committed before this call);
    returns how many conversations were assigned or offered. Never raises: the change that
    asked has committed, and a request that could not be served stays for the next pass."""
    passes: dict[int, _Passes] = factory.shared.setdefault(_SHARED_KEY, {})
    state = passes.setdefault(workspace_id, _Passes())
    state.requested += 1
    ticket = state.requested
    async with state.lock:
        if state.served >= ticket:
            return 0  # a pass that started after our request has served it
        covering = state.requested
        total = 0
        try:
            while True:
                taken, placed = await _pass_with_retries(factory, workspace_id)
                total += placed
                if taken < MAX_AGENTS_PER_PASS:
                    break
        except Exception:
            log.exception("routing.fill_failed", workspace_id=workspace_id)
            return total
        state.served = max(state.served, covering)
        return total


async def fill_left_over(factory: UnitOfWorkFactory) -> int:
    """Serve requests that no pass served (the process that wrote them stopped first)."""
    async with factory() as uow:
        workspaces = list(
            (
                await uow.session.execute(select(t.RoutingFillRequest.workspace_id).distinct())
            ).scalars()
        )
    return sum([await fill_requested(factory, workspace_id) for workspace_id in workspaces])


async def _pass_with_retries(factory: UnitOfWorkFactory, workspace_id: int) -> tuple[int, int]:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        async with factory() as uow:
            try:
                taken, placed = await fill_pass(uow, workspace_id)
                await uow.commit()
                return taken, placed
            except OperationalError as exc:
                if attempt == MAX_ATTEMPTS or not worth_retrying(exc):
                    raise
                log.warning("routing.fill_retried", workspace_id=workspace_id, error=str(exc))
                await uow.rollback()
    raise AssertionError("unreachable")


# --- one pass ---------------------------------------------------------------------------------


@dataclass
class _Pass:
    """What one pass knows about its agents, as it hands out work."""

    states: dict[int, AgentState]
    teams: dict[int, list[int]]
    weights: Weights
    now: datetime
    indexes: dict[int | None, RoutingIndex] = field(default_factory=dict)
    # Agents who still have room for something (kept as work is handed out).
    with_room: set[int] = field(init=False)

    def __post_init__(self) -> None:
        self.with_room = {
            s.agent_id for s in self.states.values() if _room_for_anything(s.capacity, s.open_work)
        }

    def index_for(self, team_id: int | None) -> RoutingIndex:
        """The agents who may take a conversation of this team (all of them for no team)."""
        if team_id not in self.indexes:
            members = [
                s
                for s in self.states.values()
                if team_id is None or team_id in self.teams.get(s.agent_id, [])
            ]
            self.indexes[team_id] = RoutingIndex(members)
        return self.indexes[team_id]

    def took(self, agent_id: int, channel: Channel) -> None:
        state = self.states[agent_id]
        open_work = dict(state.open_work)
        open_work[channel] = open_work.get(channel, 0) + 1
        self.states[agent_id] = replace(state, open_work=open_work, idle_since=None)
        if not _room_for_anything(state.capacity, open_work):
            self.with_room.discard(agent_id)
        for index in self.indexes.values():
            if agent_id in index:
                index.work_assigned(agent_id, channel)
                index.set_idle_since(agent_id, None)

    def has_room(self) -> bool:
        return bool(self.with_room)


def _room_for_anything(capacity: Capacity, open_work: Mapping[Channel, int]) -> bool:
    return any(capacity.can_take(open_work, channel) for channel in Channel)


async def fill_pass(uow: UnitOfWork, workspace_id: int) -> tuple[int, int]:
    """One transaction: serve up to MAX_AGENTS_PER_PASS fill requests. Returns how many
    requests were taken and how many conversations were assigned or offered."""
    session = uow.session
    # One pass at a time per workspace, across processes: concurrent passes would plan the
    # same head of the queue and skip each other's rows, leaving agents unfilled. Held in a
    # local: the session keeps rows only weakly.
    settings_row = (
        await session.execute(
            select(t.RoutingSettings)
            .where(t.RoutingSettings.workspace_id == workspace_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if settings_row is None or settings_row.mode != AUTO:
        # Manual mode fills nobody; requests written before the switch are void.
        await session.execute(
            delete(t.RoutingFillRequest).where(t.RoutingFillRequest.workspace_id == workspace_id)
        )
        return 0, 0
    requested = list(
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
        if s.online and _room_for_anything(s.capacity, s.open_work)
    }
    if not states:
        return len(requested), 0
    teams = {agent_id: locked.teams[agent_id] for agent_id in states}
    work = _Pass(
        states=dict(states),
        teams=teams,
        weights=weights_from(settings_row.weights or {}),
        now=now,
    )
    steps_of: dict[int | None, StepSettings] = {}

    async def steps_for(team_id: int | None) -> StepSettings:
        if team_id not in steps_of:
            steps_of[team_id] = await step_settings(session, workspace_id, team_id)
        return steps_of[team_id]

    # Plan without conversation locks: in queue order, who of these agents takes what.
    seen, progress, past, plan = await _plan(
        session,
        workspace_id,
        work,
        sorted({team for member_of in teams.values() for team in member_of}),
        steps_for,
    )
    if not plan:
        return len(requested), 0

    # Lock what was planned (conversations another router holds are skipped, not waited
    # for) and re-read them and their routing progress. Ordered here, not in SQL: SKIP
    # LOCKED never waits, so the order rows are locked in cannot deadlock.
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
    conversations = sorted((row[0] for row in locked_rows), key=lambda c: position[c.id])
    if not conversations:
        return len(requested), 0
    progress = {row[0].id: row[1] for row in locked_rows if row[1] is not None}
    relocked = [await _as_locked(session, c, seen[c.id]) for c in conversations]
    choices = _plan_still_holds(plan, relocked, progress)
    if choices is None:
        # Something changed between the plan and the locks: hand the locked ones out again.
        work = replace(work, states=dict(states), indexes={})
        choices = [
            (await _hand_out(work, c, progress.get(c.conversation_id), steps_for, past))
            for c in relocked
        ]

    offers: list[t.RoutingOffer] = []
    # Not added to the session: written below in one statement, not by the ORM's flush.
    assignments: list[t.Assignment] = []
    done_progress: list[int] = []
    by_id = {agent.id: agent for agent in locked.agents}
    for conversation, chosen in zip(conversations, choices, strict=True):
        if chosen is None:
            continue
        mark = progress.get(conversation.id)
        steps = await steps_for(conversation.team_id)
        agent, channel = by_id[chosen.agent_id], chosen.channel
        reason = _reason(agent.name, chosen)
        if mark is not None and mark.carried_reason:
            reason = f"{mark.carried_reason}. {reason}"
        capacity = work.states[agent.id].capacity
        if steps.offer_mode:
            offers.append(
                add_offer(uow, conversation, agent, channel, capacity, reason, steps, now)
            )
            continue
        assignments.append(
            new_assignment(conversation, agent, channel, capacity, reason, "queue", now)
        )
        # As written below (the session is not to write it again).
        set_committed_value(conversation, "assignee_id", agent.id)
        emit_routing_update(uow, conversation)
        if mark is not None:
            done_progress.append(conversation.id)
    if not offers and not assignments:
        return len(requested), 0
    loads = []
    for load in locked.loads:
        before = states.get(load.agent_id)
        after = work.states.get(load.agent_id)
        if before is not None and after is not None and after.open_work != before.open_work:
            changed = load_values(load, after.capacity, after.open_work, now)
            loads.append({"agent_id": load.agent_id, **changed})
            # As written below, in one statement for all of them (not by the session).
            for name, value in changed.items():
                set_committed_value(load, name, value)
    if done_progress:
        for conversation_id in done_progress:
            session.expunge(progress[conversation_id])
        await session.execute(
            delete(t.RoutingProgress).where(
                among(session, t.RoutingProgress.conversation_id, done_progress)
            )
        )
    await session.flush()
    await update_rows(session, t.AgentLoad, "agent_id", loads)
    await _write_assignments(session, assignments)
    for offer in offers:
        await arm_offer(uow, offer, by_id[offer.agent_id].name)
    for assignment in assignments:
        emit_assignment(uow, assignment, by_id[assignment.agent_id].name)
    return len(requested), len(offers) + len(assignments)


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


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A waiting conversation as the plan sees it: what choosing its agent depends on."""

    conversation_id: int
    customer_id: int
    team_id: int | None
    inbox_id: int | None
    # The inbox's routing settings and the customer's language attribute, as read.
    inbox_routing: Mapping[str, Any] | None
    customer_language: object
    work: Work | None


async def _plan(
    session: AsyncSession,
    workspace_id: int,
    work: _Pass,
    team_ids: list[int],
    steps_for: Callable[[int | None], Awaitable[StepSettings]],
) -> tuple[
    dict[int, _Candidate],
    dict[int, t.RoutingProgress],
    dict[int, dict[int, list[datetime]]],
    list[_Planned],
]:
    """Who of the pass's agents takes what, in queue order, read without locks. Returns the
    conversations looked at, their routing progress, their customers' past contacts with the
    agents and the plan.

    It looks first at about as many conversations as the agents have room for, and further
    down the queue (up to SCAN_PER_SLOT times that) only when agents still have room: most
    of the time the head of the queue fills them, and reading three times the rows it needs
    cost a pass more than anything else it did."""
    slots = sum(_slots(state) for state in work.states.values())
    scan = max(MIN_SCAN, min(MAX_SCAN, slots * SCAN_PER_SLOT))
    window = max(MIN_SCAN, min(scan, slots + slots // FIRST_LOOK_MARGIN))
    seen: dict[int, _Candidate] = {}
    progress: dict[int, t.RoutingProgress] = {}
    past: dict[int, dict[int, list[datetime]]] = {}
    asked: set[int] = set()  # customers whose past contacts were read
    plan: list[_Planned] = []
    while True:
        rows = await waiting_rows(session, workspace_id, team_ids=team_ids, window=window)
        ordered = [
            item.conversation_id
            for item in queue_order([row.waiting for row in rows], work.now, QueuePolicy())
        ][:window]
        fresh = [conversation_id for conversation_id in ordered if conversation_id not in seen]
        found, marks = await _candidates(session, fresh)
        seen.update(found)
        progress.update(marks)
        customers = {c.customer_id for c in found.values()} - asked
        asked |= customers
        past.update(await past_contacts_of_customers(session, customers, list(work.states)))
        for conversation_id in fresh:
            if not work.has_room():
                return seen, progress, past, plan
            candidate = found.get(conversation_id)
            if candidate is None:
                continue
            mark = progress.get(conversation_id)
            chosen = await _hand_out(work, candidate, mark, steps_for, past)
            if chosen is not None:
                plan.append(_Planned(candidate, chosen, _routed_on(candidate, mark)))
        if not work.has_room() or window >= scan or len(ordered) < window:
            return seen, progress, past, plan
        window = scan


async def _candidates(
    session: AsyncSession, conversation_ids: list[int]
) -> tuple[dict[int, _Candidate], dict[int, t.RoutingProgress]]:
    """These conversations as the plan sees them, with their routing progress, in one
    statement: plain columns (the inbox's routing settings and the customer's language, not
    their rows), as most are looked at and never assigned."""
    if not conversation_ids:
        return {}, {}
    rows = await session.execute(
        select(
            t.Conversation.id,
            t.Conversation.customer_id,
            t.Conversation.team_id,
            t.Conversation.last_inbound_inbox_id,
            t.Conversation.last_inbound_channel,
            t.Conversation.attributes,
            t.Inbox.settings["routing"],
            t.Customer.attributes["language"],
            t.RoutingProgress,
        )
        .join(t.Customer, t.Customer.id == t.Conversation.customer_id)
        .outerjoin(t.Inbox, t.Inbox.id == t.Conversation.last_inbound_inbox_id)
        .outerjoin(t.RoutingProgress, t.RoutingProgress.conversation_id == t.Conversation.id)
        .where(among(session, t.Conversation.id, conversation_ids))
    )
    found: dict[int, _Candidate] = {}
    marks: dict[int, t.RoutingProgress] = {}
    for cid, customer, team, inbox, channel, attributes, routing, language, mark in rows:
        found[cid] = _Candidate(
            cid,
            customer,
            team,
            inbox,
            routing,
            language,
            work_from(channel, attributes, routing, language),
        )
        if mark is not None:
            marks[cid] = mark
    return found, marks


async def _as_locked(
    session: AsyncSession, conversation: t.Conversation, seen: _Candidate
) -> _Candidate:
    """The candidate again from its row re-read under the lock (its customer and inbox as
    read for the plan, unless the conversation moved to another of either)."""
    if (conversation.customer_id, conversation.last_inbound_inbox_id) == (
        seen.customer_id,
        seen.inbox_id,
    ):
        needed = work_from(
            conversation.last_inbound_channel,
            conversation.attributes,
            seen.inbox_routing,
            seen.customer_language,
        )
    else:
        needed = await work_for(session, conversation)
    return replace(
        seen,
        customer_id=conversation.customer_id,
        team_id=conversation.team_id,
        inbox_id=conversation.last_inbound_inbox_id,
        work=needed,
    )


async def _hand_out(
    work: _Pass,
    candidate: _Candidate,
    mark: t.RoutingProgress | None,
    steps_for: Callable[[int | None], Awaitable[StepSettings]],
    past: dict[int, dict[int, list[datetime]]],
) -> _Choice | None:
    """The best of the pass's agents for the conversation, who takes it (their room is
    counted)."""
    chosen = _choose(
        work,
        candidate,
        mark,
        await steps_for(candidate.team_id),
        past.get(candidate.customer_id, {}),
    )
    if chosen is not None:
        work.took(chosen.agent_id, chosen.channel)
    return chosen


@dataclass(frozen=True, slots=True)
class _Planned:
    candidate: _Candidate
    choice: _Choice
    # What the choice was made on; the plan holds while this is unchanged under the lock.
    routed_on: tuple[object, ...]


def _routed_on(candidate: _Candidate, mark: t.RoutingProgress | None) -> tuple[object, ...]:
    progress = (
        None
        if mark is None
        else (
            mark.relax_level,
            tuple(mark.passed_over or ()),
            mark.sticky_agent_id,
            mark.sticky_until,
            mark.sticky_done,
            mark.carried_reason,
        )
    )
    return (candidate.work, candidate.team_id, candidate.customer_id, progress)


def _plan_still_holds(
    plan: list[_Planned],
    relocked: list[_Candidate],
    progress: dict[int, t.RoutingProgress],
) -> list[_Choice | None] | None:
    """The planned choices, when every planned conversation was locked and nothing the plan
    was made on changed meanwhile (then planning again would choose exactly the same)."""
    if len(relocked) != len(plan):
        return None
    for item, candidate in zip(plan, relocked, strict=True):
        if item.routed_on != _routed_on(candidate, progress.get(candidate.conversation_id)):
            return None
    return [item.choice for item in plan]


@dataclass(frozen=True, slots=True)
class _Choice:
    agent_id: int
    channel: Channel
    explanation: str
    # How many of this pass's agents could take it at that moment (the chosen one included).
    eligible: int


def _choose(
    work: _Pass,
    candidate: _Candidate,
    mark: t.RoutingProgress | None,
    steps: StepSettings,
    past: dict[int, list[datetime]],
) -> _Choice | None:
    """The best of this pass's agents with room for the conversation, as relaxed so far,
    leaving out agents who declined it and, while it waits for its relationship agent,
    everyone else."""
    if candidate.work is None:
        return None
    needed = relaxed(candidate.work, mark.relax_level if mark else 0, steps.relax_levels_per_step)
    index = work.index_for(candidate.team_id)
    if not len(index):
        return None
    passed_over = set(mark.passed_over or []) if mark is not None else set()
    waits_for = (
        mark.sticky_agent_id
        if mark is not None
        and not mark.sticky_done
        and mark.sticky_until is not None
        and work.now < mark.sticky_until
        else None
    )
    if passed_over or waits_for is not None:
        pool = [
            replace(s, past_contacts=tuple(past.get(s.agent_id, ())))
            for s in index.states()
            if s.agent_id not in passed_over and waits_for in (None, s.agent_id)
        ]
        best, refused = choose_agent(pool, needed, work.now, work.weights)
        if best is None:
            return None
        name = work.states[best.agent_id].name
        eligible = len(pool) - len(refused)
        return _Choice(best.agent_id, needed.channel, best.explanation(name), eligible)
    decision = index.decide(
        needed, {a: c for a, c in past.items() if a in index}, work.now, work.weights
    )
    if decision.agent_id is None:
        return None
    eligible = len(index) - decision.refused_count
    return _Choice(decision.agent_id, needed.channel, decision.explanation, eligible)


def _reason(name: str, choice: _Choice) -> str:
    others = choice.eligible - 1
    if others <= 0:
        return f"next in the queue when {name} had room. {choice.explanation}"
    return (
        f"next in the queue when {name} and {others} other eligible agent(s) had room; "
        f"{name} scored best. {choice.explanation}"
    )


def _slots(state: AgentState) -> int:
    """At most how many more conversations the agent could take (of the cheapest channel)."""
    capacity = state.capacity
    free = capacity.budget - capacity.load(state.open_work)
    cheapest = min(capacity.cost(channel) for channel in Channel)
    return max(0, free // max(1, cheapest))
