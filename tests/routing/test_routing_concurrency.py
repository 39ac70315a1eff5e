"""Four processes route at once on PostgreSQL; the stored history proves that no agent was
ever over capacity and no conversation was ever assigned twice at the same moment."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from threadline.adapters.db import tables as t
from threadline.domain.routing.capacity import Capacity
from threadline.domain.security.access import Role
from threadline.workspace.create import create_agent

pytestmark = [pytest.mark.anyio, pytest.mark.postgres_only, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4
EVENTS_PER_PROCESS = 2500
LANES_PER_PROCESS = 4
# Budgets of the agents: 60 cannot take a call (100) and holds two chats, or a chat and an email.
BUDGETS = [100, 100, 100, 60, 60, 45, 100, 80]


def over_capacity_moments(
    assignments: list[t.Assignment], budgets: dict[int, int]
) -> list[tuple[int, datetime, int]]:
    """Sweep each agent's assignments in time; releases at an instant count before claims."""
    changes: dict[int, list[tuple[datetime, int, int]]] = defaultdict(list)
    for a in assignments:
        changes[a.agent_id].append((a.assigned_at, 1, a.cost))
        if a.released_at is not None:
            changes[a.agent_id].append((a.released_at, 0, -a.cost))
    found = []
    for agent_id, moments in changes.items():
        load = 0
        for at, _order, delta in sorted(moments):
            load += delta
            if load > budgets[agent_id]:
                found.append((agent_id, at, load))
    return found


def double_assignments(assignments: list[t.Assignment]) -> list[int]:
    by_conversation: dict[int, list[t.Assignment]] = defaultdict(list)
    for a in assignments:
        by_conversation[a.conversation_id].append(a)
    doubled = []
    for conversation_id, rows in by_conversation.items():
        rows.sort(key=lambda a: (a.assigned_at, a.id))
        for earlier, later in itertools.pairwise(rows):
            if earlier.released_at is None or earlier.released_at > later.assigned_at:
                doubled.append(conversation_id)
    return doubled


def test_the_sweep_finds_what_it_should() -> None:
    """The checker itself: an overlap and an over-budget moment are caught."""
    at = [datetime(2026, 1, 1, 9, minute) for minute in range(6)]

    def row(i: int, conv: int, agent: int, cost: int, a: int, r: int | None) -> t.Assignment:
        return t.Assignment(
            id=i,
            conversation_id=conv,
            agent_id=agent,
            cost=cost,
            assigned_at=at[a],
            released_at=at[r] if r is not None else None,
        )

    fine = [row(1, 1, 1, 60, 0, 2), row(2, 2, 1, 40, 1, None), row(3, 3, 1, 60, 2, None)]
    assert over_capacity_moments(fine, {1: 100}) == []
    assert double_assignments(fine) == []
    bad = [*fine, row(4, 1, 1, 20, 1, 3)]
    assert over_capacity_moments(bad, {1: 100}) == [(1, at[1], 120), (1, at[2], 120)]
    assert double_assignments(bad) == [1]


# 10,000 full events (each a real transaction with SLA, CSAT and routing handlers) take
# about three minutes on a busy two-core machine; the default 120 s limit is too tight.
@pytest.mark.timeout(480)
async def test_four_processes_never_overfill_an_agent_nor_double_assign(
    postgres_database: str, tmp_path: Path
) -> None:
    from tests.conftest import emptied_postgres_runtime, make_workspace

    runtime = emptied_postgres_runtime(postgres_database)
    try:
        ws = await make_workspace(runtime, "loaded")
        async with runtime.uow() as uow:
            for number, budget in enumerate(BUDGETS):
                agent = await create_agent(
                    uow,
                    ws.id,
                    email=f"load{number}@loaded.example.com",
                    name=f"Agent {number}",
                    role=Role.AGENT,
                    capacity={"budget": budget},
                )
                agent.presence = "online"
            uow.session.add(
                t.RoutingSettings(
                    workspace_id=ws.id, mode="auto", weights={}, updated_at=uow.clock.now()
                )
            )
            await uow.commit()

        env = {
            **os.environ,
            "THREADLINE_DATABASE_URL": postgres_database,
            "THREADLINE_REDIS_URL": "",
            "PYTHONUNBUFFERED": "1",
        }
        processes = [_start_worker(ws.id, seed, env, tmp_path) for seed in range(PROCESSES)]
        reports = []
        try:
            for seed, process in enumerate(processes):
                out, _ = process.communicate(timeout=420)
                log = (tmp_path / f"worker-{seed}.err").read_text()[-3000:]
                assert process.returncode == 0, log
                reports.append(json.loads(out.decode().strip().splitlines()[-1]))
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        events = sum(r["events"] for r in reports)
        seconds = max(r["seconds"] for r in reports)
        print(
            f"\n{events} events in {seconds:.1f} s = {events / seconds:.0f} events/s; "
            + json.dumps([r["counts"] for r in reports])
        )
        assert events >= 10_000

        async with runtime.uow() as uow:
            assignments = list((await uow.session.execute(select(t.Assignment))).scalars())
            agents = list(
                (
                    await uow.session.execute(select(t.Agent).where(t.Agent.workspace_id == ws.id))
                ).scalars()
            )
            loads = {
                row.agent_id: row
                for row in (await uow.session.execute(select(t.AgentLoad))).scalars()
            }
            budgets = {a.id: Capacity.from_settings(a.capacity or {}).budget for a in agents}
            uow.session.expunge_all()  # keep the rows readable once the session ends
            open_assigned = (
                await uow.session.execute(
                    select(t.Conversation.id, t.Conversation.assignee_id).where(
                        t.Conversation.status != "resolved"
                    )
                )
            ).all()
        print(f"{len(assignments)} assignments stored")
        assert len(assignments) > 1000
        assert over_capacity_moments(assignments, budgets) == []
        assert double_assignments(assignments) == []
        # The load rows agree with the history, and every open assignee has an assignment.
        active = [a for a in assignments if a.released_at is None]
        for agent_id, row in loads.items():
            assert row.load == sum(a.cost for a in active if a.agent_id == agent_id)
        by_conversation = {a.conversation_id: a.agent_id for a in active}
        for conversation_id, assignee_id in open_assigned:
            assert by_conversation.get(conversation_id) == assignee_id
    finally:
        await runtime.close()


def _start_worker(
    workspace_id: int, seed: int, env: dict[str, str], tmp_path: Path
) -> subprocess.Popen[bytes]:
    with (tmp_path / f"worker-{seed}.err").open("wb") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.routing.routing_load_worker",
                str(workspace_id),
                str(EVENTS_PER_PROCESS),
                str(seed + 1),
                str(LANES_PER_PROCESS),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
        )
