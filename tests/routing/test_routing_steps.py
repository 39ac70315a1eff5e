"""Routing steps for work that waits, on a controllable clock with durable timers: the
relationship agent is waited for, then skills relax, then the work overflows to another team;
team capacity as the default for its members."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import WorkspaceFixture
from tests.support.routing import (
    add_agent,
    admin_of,
    arrive,
    assignee_of,
    history,
    load_of,
    make_team,
    resolve,
    set_mode,
    set_presence,
    set_steps,
    skill_inbox,
)
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.core.timers import fire_due_timers
from threadline.domain.channels import Channel
from threadline.domain.errors import DomainError
from threadline.domain.routing.capacity import Capacity, with_team_default
from threadline.domain.routing.scoring import AgentState, Weights, Work
from threadline.domain.routing.steps import (
    StepSettings,
    check_steps,
    next_step,
    relationship_agent,
    relaxed,
)
from threadline.routing import put_team_routing, route

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _agent(
    agent_id: int, *, contacts: int = 0, open_chats: int = 0, budget: int = 100
) -> AgentState:
    return AgentState(
        agent_id=agent_id,
        name=f"agent {agent_id}",
        online=True,
        available_channels=None,
        skills={"billing": 5},
        competences={Channel.WEB_CHAT: 5},
        languages=frozenset(),
        capacity=Capacity(budget=budget),
        open_work={Channel.WEB_CHAT: open_chats} if open_chats else {},
        idle_since=None,
        past_contacts=tuple(NOW - timedelta(days=d) for d in range(contacts)),
    )


# --- pure rules -------------------------------------------------------------------------------


def test_relaxing_lowers_every_required_level_and_drops_those_reaching_zero() -> None:
    work = Work(Channel.EMAIL, required_skills={"billing": 8, "tech": 3})
    assert relaxed(work, 0, 2) == work
    assert dict(relaxed(work, 1, 2).required_skills) == {"billing": 6, "tech": 1}
    assert dict(relaxed(work, 2, 2).required_skills) == {"billing": 4}
    settings = StepSettings(max_relax_steps=5, relax_levels_per_step=2, overflow_team_id=9)
    # Relaxing while a level is left; then overflow (once, and not to the team it is in).
    relax = next_step(work, 3, False, None, settings)
    assert relax is not None and (relax.kind, relax.after) == ("relax", timedelta(seconds=120))
    step = next_step(work, 4, False, None, settings)
    assert step is not None and (step.kind, step.after) == ("overflow", timedelta(seconds=300))
    assert next_step(work, 4, True, None, settings) is None
    assert next_step(work, 4, False, 9, settings) is None
    assert next_step(Work(Channel.EMAIL), 0, False, None, StepSettings()) is None


def test_the_relationship_agent_is_the_strongest_history_and_is_waited_for_only_when_full() -> None:
    work = Work(Channel.WEB_CHAT, required_skills={"billing": 5})
    weights = Weights()
    strong_full = _agent(1, contacts=3, open_chats=4)
    weak_free = _agent(2, contacts=1)
    stranger = _agent(3)
    sticky = relationship_agent([stranger, weak_free, strong_full], work, NOW, weights)
    assert sticky is not None and (sticky.agent_id, sticky.has_room) == (1, False)
    free = relationship_agent([stranger, weak_free], work, NOW, weights)
    assert free is not None and (free.agent_id, free.has_room) == (2, True)
    assert relationship_agent([stranger], work, NOW, weights) is None
    # Full and lacking the skill: not worth waiting for.
    unskilled = relationship_agent(
        [strong_full], Work(Channel.WEB_CHAT, required_skills={"billing": 9}), NOW, weights
    )
    assert unskilled is None


def test_step_settings_are_checked_and_layered() -> None:
    merged = StepSettings.merged({"sticky_wait_seconds": 10}, {"offer_mode": True})
    assert (merged.sticky_wait_seconds, merged.offer_mode, merged.relax_after_seconds) == (
        10,
        True,
        120,
    )
    with pytest.raises(DomainError, match="unknown routing step setting 'stickyness'"):
        check_steps({"stickyness": 3})
    with pytest.raises(DomainError, match="offer_timeout_seconds must be at least 1"):
        check_steps({"offer_timeout_seconds": 0})
    with pytest.raises(DomainError, match="offer_mode must be true or false"):
        check_steps({"offer_mode": "yes"})
    assert with_team_default({"channel_limits": {"web_chat": 1}}, {"budget": 50}) == {
        "budget": 50,
        "channel_limits": {"web_chat": 1},
    }
    assert with_team_default({"budget": 80}, {"budget": 50}) == {"budget": 80}


# --- in the database ------------------------------------------------------------------------


async def test_sticky_waits_for_the_full_relationship_agent_then_falls_back(
    runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    ws, chat = workspace.id, workspace.inboxes["web_chat"]
    await set_steps(runtime, ws, sticky_wait_seconds=60)
    # Tomek has room for one chat at a time; Ewa starts offline.
    tomek = await add_agent(runtime, ws, "Tomek Tech", capacity={"budget": 25})
    ewa = await add_agent(runtime, ws, "Ewa Email", online=False)
    anna = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "visitor-anna")
    await resolve(runtime, ws, anna)
    carl = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "visitor-carl")
    await resolve(runtime, ws, carl)
    bob = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "visitor-bob")
    assert await assignee_of(runtime, bob) == tomek
    await set_presence(runtime, ws, ewa, online=True)

    # Past the re-open window Anna and Carl write again: Tomek, who knows them, is full; Ewa
    # is free, but both wait for Tomek.
    clock.advance(timedelta(days=8))
    anna_again = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "visitor-anna")
    clock.advance(timedelta(seconds=5))
    carl_again = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "visitor-carl")
    assert await assignee_of(runtime, anna_again) is None
    assert await assignee_of(runtime, carl_again) is None

    # Tomek finishes Bob's chat within the wait: he takes Anna (first in the queue).
    clock.advance(timedelta(seconds=20))
    await resolve(runtime, ws, bob)
    assert await assignee_of(runtime, anna_again) == tomek
    # Ewa coming online again does not take Carl away while he waits for Tomek.
    await set_presence(runtime, ws, ewa, online=True)
    assert await assignee_of(runtime, carl_again) is None

    # The wait ends 60 s after Carl arrived (a durable timer): Ewa gets him, and says why.
    clock.advance(timedelta(seconds=39))
    await fire_due_timers(runtime.uow, clock.now())
    assert await assignee_of(runtime, carl_again) is None
    clock.advance(timedelta(seconds=1))
    await fire_due_timers(runtime.uow, clock.now())
    assert await assignee_of(runtime, carl_again) == ewa
    [fallback] = await history(runtime, carl_again)
    assert fallback.reason.startswith("waited 60 s for Tomek Tech, who stayed full. Ewa Email:")


async def test_skills_relax_step_by_step_then_the_work_overflows_to_another_team(
    runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    ws = workspace.id
    basia = await add_agent(runtime, ws, "Basia Billing", skills={"billing": 5}, online=False)
    olek = await add_agent(runtime, ws, "Olek Overflow", skills={"billing": 9}, online=False)
    billing = await make_team(runtime, ws, "Billing", [basia])
    overflow = await make_team(runtime, ws, "Overflow", [olek])
    inbox = await skill_inbox(runtime, ws, "billing mail", Channel.EMAIL, {"billing": 8}, billing)
    await set_steps(
        runtime,
        ws,
        relax_after_seconds=120,
        relax_levels_per_step=2,
        max_relax_steps=2,
        overflow_after_seconds=300,
        overflow_team_id=overflow,
    )
    await set_presence(runtime, ws, basia, online=True)
    await set_presence(runtime, ws, olek, online=True)

    # Billing 8 needed; Basia (5) is the only one in the team: the mail waits.
    first = await arrive(runtime, ws, inbox, Channel.EMAIL, "first@example.com")
    assert await assignee_of(runtime, first) is None
    # 120 s: the need drops to 6, still above Basia; 240 s: to 4, and Basia takes it.
    clock.advance(timedelta(seconds=120))
    assert await fire_due_timers(runtime.uow, clock.now()) == 1
    assert await assignee_of(runtime, first) is None
    clock.advance(timedelta(seconds=120))
    assert await fire_due_timers(runtime.uow, clock.now()) == 1
    assert await assignee_of(runtime, first) == basia
    [relaxed_row] = await history(runtime, first)
    assert relaxed_row.reason.startswith(
        "still waiting after 120 s: required skill levels lowered by 4. Basia Billing: "
        "skills billing 5"
    )

    # Basia goes away. A second mail waits, relaxes twice in vain, then overflows to the
    # other team 300 s after the last step, where Olek takes it.
    await set_presence(runtime, ws, basia, online=False)
    second = await arrive(runtime, ws, inbox, Channel.EMAIL, "second@example.com")
    for _ in range(2):
        clock.advance(timedelta(seconds=120))
        assert await fire_due_timers(runtime.uow, clock.now()) == 1
        assert await assignee_of(runtime, second) is None
    clock.advance(timedelta(seconds=299))
    assert await fire_due_timers(runtime.uow, clock.now()) == 0
    clock.advance(timedelta(seconds=1))
    assert await fire_due_timers(runtime.uow, clock.now()) == 1
    assert await assignee_of(runtime, second) == olek
    async with runtime.uow() as uow:
        moved = await uow.session.get(t.Conversation, second)
        assert moved is not None and moved.team_id == overflow
    [overflowed] = await history(runtime, second)
    assert overflowed.reason.startswith(
        "still waiting after 300 s: overflowed to team Overflow. Olek Overflow:"
    )
    # Nothing is left armed for either conversation.
    clock.advance(timedelta(hours=1))
    assert await fire_due_timers(runtime.uow, clock.now()) == 0


async def test_a_team_capacity_is_the_default_for_members_who_set_none(
    runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    ws, chat = workspace.id, workspace.inboxes["web_chat"]
    await set_mode(runtime, ws, "auto")
    ola = await add_agent(runtime, ws, "Ola Default", competences={"web_chat": 9}, online=False)
    piotr = await add_agent(
        runtime,
        ws,
        "Piotr Own",
        competences={"web_chat": 5},
        capacity={"budget": 25},
        online=False,
    )
    team = await make_team(runtime, ws, "Chat", [ola, piotr])
    async with runtime.uow() as uow:
        with pytest.raises(DomainError, match="capacity budget must be a whole number"):
            await put_team_routing(uow, admin_of(ws), team, {"budget": -5}, {})
    async with runtime.uow() as uow:
        view = await put_team_routing(uow, admin_of(ws), team, {"budget": 50}, {})
        await uow.commit()
    assert view["capacity"] == {"budget": 50}
    await set_presence(runtime, ws, ola, online=True)
    await set_presence(runtime, ws, piotr, online=True)

    chats = [await arrive(runtime, ws, chat, Channel.WEB_CHAT, f"v-{n}") for n in range(4)]
    owners = [await assignee_of(runtime, c) for c in chats]
    # Ola has the team's 50 (two chats); Piotr his own 25 (one); the fourth waits.
    assert owners.count(ola) == 2 and owners.count(piotr) == 1 and owners[3] is None
    assert (await load_of(runtime, ola), await load_of(runtime, piotr)) == (50, 25)
    async with runtime.uow() as uow:
        result = await route(uow, ws, chats[3])
        await uow.commit()
    assert "Ola Default (at capacity (50/50))" in result.explanation
