"""Filling agents from the queue in passes: agents who come online together are filled in one
pass, each waiting conversation going to the best of them; the queue's head is found however
long the backlog; a fill request left behind by a stopped process is served by the worker."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import psycopg
import pytest
from psycopg.types.json import Jsonb
from sqlalchemy import event, func, select

from tests.conftest import WorkspaceFixture
from tests.support.routing import (
    add_agent,
    admin_of,
    arrive,
    assignee_of,
    history,
    set_mode,
    set_presence,
    skill_inbox,
)
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.conversations.actions import set_priority
from threadline.domain.agent_profile import Presence
from threadline.domain.channels import Channel
from threadline.domain.conversations import Priority
from threadline.entrypoints.timer_worker import run_timer_worker
from threadline.routing.filling.fill_plan import MIN_SCAN
from threadline.workspace.agents import update_agent

pytestmark = pytest.mark.anyio


async def _bring_online(runtime: Runtime, ws: int, *agent_ids: int) -> None:
    """Several agents come online in one transaction (as a supervisor's bulk change would)."""
    async with runtime.uow() as uow:
        for agent_id in agent_ids:
            await update_agent(uow, admin_of(ws), agent_id, {"presence": Presence.ONLINE.value})
        await uow.commit()


async def test_agents_coming_online_together_share_the_queue_by_score(
    runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    ws = workspace.id
    await set_mode(runtime, ws, "auto")
    billing = await skill_inbox(runtime, ws, "Billing chat", Channel.WEB_CHAT, {"billing": 5})
    chat_only = {"budget": 100, "costs": {"web_chat": 50}}
    bea = await add_agent(
        runtime, ws, "Bea Billing", skills={"billing": 8}, capacity=chat_only, online=False
    )
    gus = await add_agent(runtime, ws, "Gus General", capacity=chat_only, online=False)
    # Waiting, oldest first: a general chat, a billing chat, two more general chats.
    general = workspace.inboxes["web_chat"]
    waiting = []
    for inbox, sender in [
        (general, "v1"),
        (billing, "v2"),
        (general, "v3"),
        (general, "v4"),
    ]:
        waiting.append(await arrive(runtime, ws, inbox, Channel.WEB_CHAT, sender))
        clock.advance(timedelta(seconds=30))

    await _bring_online(runtime, ws, bea, gus)

    # In queue order: the first general chat is a tie (same profile apart from the skill it
    # does not need), which the lower id wins; the billing chat only Bea may take, which
    # fills her; Gus takes the last two.
    owners = [await assignee_of(runtime, c) for c in waiting]
    assert owners == [bea, bea, gus, gus]
    # The explanation counts only the others who could have taken it: both for the general
    # chat, Bea alone for the billing one.
    [general_assignment] = await history(runtime, waiting[0])
    assert general_assignment.mode == "queue"
    assert general_assignment.reason.startswith(
        "next in the queue when Bea Billing and 1 other eligible agent(s) had room; "
        "Bea Billing scored best. Bea Billing:"
    ), general_assignment.reason
    [billing_assignment] = await history(runtime, waiting[1])
    assert billing_assignment.reason.startswith(
        "next in the queue when Bea Billing had room. Bea Billing:"
    ), billing_assignment.reason
    async with runtime.uow() as uow:
        loads = {
            agent_id: load
            for agent_id, load in await uow.session.execute(
                select(t.AgentLoad.agent_id, t.AgentLoad.load)
            )
        }
        left = await uow.session.scalar(select(func.count()).select_from(t.RoutingFillRequest))
    # Every agent has a load row from the start; only these two took work.
    assert {agent_id: load for agent_id, load in loads.items() if load} == {bea: 100, gus: 100}
    assert left == 0  # every request was served and removed


async def test_an_urgent_conversation_is_not_hidden_behind_a_long_backlog(
    runtime: Runtime, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    ws = workspace.id
    await set_mode(runtime, ws, "auto")
    olga = await add_agent(
        runtime, ws, "Olga Online", capacity={"budget": 25, "costs": {"web_chat": 25}}, online=False
    )
    chat = workspace.inboxes["web_chat"]
    # More older chats than a pass looks at for one agent's single free place.
    backlog = [
        await arrive(runtime, ws, chat, Channel.WEB_CHAT, f"early-{n}") for n in range(MIN_SCAN + 5)
    ]
    clock.advance(timedelta(minutes=1))
    urgent = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "on-fire")
    async with runtime.uow() as uow:
        await set_priority(uow, admin_of(ws), urgent, Priority.URGENT)
        await uow.commit()

    await _bring_online(runtime, ws, olga)

    assert await assignee_of(runtime, urgent) == olga
    assert [await assignee_of(runtime, c) for c in backlog[:3]] == [None, None, None]


async def test_a_request_left_by_a_stopped_process_is_served_when_the_worker_starts(
    runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    ws = workspace.id
    await set_mode(runtime, ws, "auto")
    chat = workspace.inboxes["web_chat"]
    waiting = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "visitor")
    olga = await add_agent(runtime, ws, "Olga Online", online=False)
    # The presence change and its fill request commit, then the process dies before the pass
    # that would serve it (the request row is what the transaction leaves behind).
    async with runtime.uow() as uow:
        agent = await uow.session.get(t.Agent, olga)
        assert agent is not None
        agent.presence = Presence.ONLINE.value
        uow.session.add(
            t.RoutingFillRequest(agent_id=olga, workspace_id=ws, requested_at=uow.clock.now())
        )
        await uow.commit()
    assert await assignee_of(runtime, waiting) is None

    worker = asyncio.create_task(run_timer_worker(runtime, poll_interval=0.05))
    try:
        for _ in range(200):
            if await assignee_of(runtime, waiting) is not None:
                break
            await asyncio.sleep(0.02)
    finally:
        worker.cancel()
    assert await assignee_of(runtime, waiting) == olga


# PostgreSQL only: SQLite runs one writer at a time, so nothing changes between plan and locks.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_plan_made_stale_by_a_concurrent_change_is_made_again(
    runtime: Runtime, workspace: WorkspaceFixture, database_url: str
) -> None:
    ws = workspace.id
    await set_mode(runtime, ws, "auto")
    chat_only = {"budget": 100, "costs": {"web_chat": 50}}
    bea = await add_agent(
        runtime,
        ws,
        "Bea Billing",
        skills={"billing": 8},
        competences={"web_chat": 2},
        capacity=chat_only,
        online=False,
    )
    gus = await add_agent(
        runtime, ws, "Gus General", competences={"web_chat": 10}, capacity=chat_only, online=False
    )
    waiting = await arrive(runtime, ws, workspace.inboxes["web_chat"], Channel.WEB_CHAT, "v1")

    # Gus, far better on chat, is planned for it; then, before the pass locks the
    # conversation, another transaction makes it a billing matter that only Bea may take.
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    changed: list[int] = []

    def change_before_the_lock(
        _conn: object, _cursor: object, statement: str, *_args: object
    ) -> None:
        if "FROM conversations" in statement and "SKIP LOCKED" in statement and not changed:
            with psycopg.connect(dsn, autocommit=True) as other:
                other.execute(
                    "UPDATE conversations SET attributes = %s WHERE id = %s",
                    (Jsonb({"required_skills": {"billing": 5}}), waiting),
                )
            changed.append(waiting)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", change_before_the_lock)
    try:
        await _bring_online(runtime, ws, bea, gus)
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", change_before_the_lock)

    assert changed == [waiting]
    assert await assignee_of(runtime, waiting) == bea
    [assignment] = await history(runtime, waiting)
    assert assignment.reason.startswith("next in the queue when Bea Billing had room."), (
        assignment.reason
    )


async def test_coming_online_in_manual_mode_leaves_the_queue_alone(
    runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    ws = workspace.id
    await set_mode(runtime, ws, "manual")
    waiting = await arrive(runtime, ws, workspace.inboxes["web_chat"], Channel.WEB_CHAT, "v1")
    olga = await add_agent(runtime, ws, "Olga Online", online=False)

    await _bring_online(runtime, ws, olga)
    async with runtime.uow() as uow:
        requests = await uow.session.scalar(select(func.count()).select_from(t.RoutingFillRequest))
    assert (await assignee_of(runtime, waiting), requests) == (None, 0)

    # Switched to auto, her next coming online fills her.
    await set_presence(runtime, ws, olga, online=False)
    await set_mode(runtime, ws, "auto")
    await _bring_online(runtime, ws, olga)
    assert await assignee_of(runtime, waiting) == olga
