"""Routing decision latency: 10,000 agents, 50,000 waiting conversations.

    .venv/bin/python benchmarks/routing.py [--agents 10000] [--waiting 50000] [--seed 7]

1. In-process (pure domain): a `RoutingIndex` over the agents; every waiting conversation, in
   queue order (`domain/routing/queue.py`), gets a decision that is then applied
   (`work_assigned`). Work finishes as it goes, so the floor stays busy but not full, as on a
   real shift. Reported: decision latency p50/p99/max (time.perf_counter_ns around `decide`
   only) and decisions per second, plus the cost of applying a decision to the index. Every
   500th decision is checked against `choose_agent` over all agents (outside the timing).
2. End to end on PostgreSQL (`end_to_end_postgresql`, docs/routing.md): agents come online
   through the real service from several processes against a backlog; reported: assignments
   per second, one agent's latency, statements and CPU per assignment, and checks that no
   agent went over budget and no conversation was assigned twice.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import statistics
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from threadline.config import Settings
from threadline.domain.channels import Channel
from threadline.domain.conversations import Priority
from threadline.domain.routing.capacity import Capacity
from threadline.domain.routing.index import RoutingIndex
from threadline.domain.routing.queue import QueuePolicy, Waiting, queue_order
from threadline.domain.routing.scoring import AgentState, Weights, Work, choose_agent
from threadline.entrypoints.logging_setup import configure_logging

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SKILLS = [f"skill_{n:02d}" for n in range(30)]
LANGUAGES = ["pl", "en", "uk", "de"]
LANGUAGE_SHARE = [0.45, 0.35, 0.1, 0.1]
CHANNELS = list(Channel)
# What arrives most: chat and email, then calls and messengers.
CHANNEL_SHARE = [0.25, 0.05, 0.15, 0.1, 0.05, 0.05, 0.25, 0.05, 0.05]
# Share of the floor's total budget that is in use in steady state.
TARGET_UTILISATION = 0.7


@dataclass(frozen=True, slots=True)
class WaitingItem:
    waiting: Waiting
    work: Work
    past_agents: dict[int, list[datetime]]


def build_agents(rng: random.Random, count: int) -> list[AgentState]:
    agents = []
    for agent_id in range(1, count + 1):
        skills = {s: rng.randint(1, 10) for s in rng.sample(SKILLS, rng.randint(3, 8))}
        competences = {c: rng.randint(1, 10) for c in CHANNELS if rng.random() < 0.9}
        languages = frozenset(rng.sample(LANGUAGES, rng.choice([1, 1, 2, 2, 3])))
        capacity = Capacity(
            budget=rng.choice([100, 100, 100, 120, 150]),
            channel_limits={Channel.WEB_CHAT: 3} if rng.random() < 0.3 else {},
        )
        open_work: dict[Channel, int] = {}
        for _ in range(rng.randint(0, 2)):
            channel = rng.choice([Channel.EMAIL, Channel.WEB_CHAT, Channel.WHATSAPP])
            if capacity.can_take(open_work, channel):
                open_work[channel] = open_work.get(channel, 0) + 1
        channels = None if rng.random() < 0.7 else frozenset(rng.sample(CHANNELS, 5))
        agents.append(
            AgentState(
                agent_id=agent_id,
                name=f"agent {agent_id}",
                online=rng.random() < 0.8,
                available_channels=channels,
                skills=skills,
                competences=competences,
                languages=languages,
                capacity=capacity,
                open_work=open_work,
                idle_since=None if open_work else NOW - timedelta(seconds=rng.randint(0, 7200)),
            )
        )
    return agents


def build_waiting(rng: random.Random, count: int, agent_count: int) -> list[WaitingItem]:
    items = []
    priorities = list(Priority)
    for conversation_id in range(1, count + 1):
        channel = rng.choices(CHANNELS, CHANNEL_SHARE)[0]
        required = {s: rng.randint(1, 7) for s in rng.sample(SKILLS, rng.randint(0, 2))}
        past_agents = {
            rng.randint(1, agent_count): [
                NOW - timedelta(days=rng.uniform(0, 180)) for _ in range(rng.randint(1, 3))
            ]
            for _ in range(rng.randint(0, 3))
        }
        work = Work(
            channel=channel,
            required_skills=required,
            min_competence=rng.choice([1, 1, 1, 3, 5]),
            language=rng.choices(LANGUAGES, LANGUAGE_SHARE)[0],
        )
        waiting = Waiting(
            conversation_id=conversation_id,
            priority=rng.choice(priorities),
            channel=channel,
            waiting_since=NOW - timedelta(seconds=rng.randint(0, 3 * 3600)),
        )
        items.append(WaitingItem(waiting, work, past_agents))
    return items


def percentile(sorted_values: list[int], share: float) -> int:
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


def in_process(agent_count: int, waiting_count: int, seed: int, verify_every: int) -> None:
    rng = random.Random(seed)
    started = time.perf_counter()
    agents = build_agents(rng, agent_count)
    items = build_waiting(rng, waiting_count, agent_count)
    index = RoutingIndex(agents)
    by_id = {item.waiting.conversation_id: item for item in items}
    ordered = queue_order([item.waiting for item in items], NOW, QueuePolicy())
    total_budget = sum(a.capacity.budget for a in agents if a.online)
    print(
        f"built {agent_count} agents and {waiting_count} waiting in {time.perf_counter() - started:.1f}s"
    )

    weights = Weights()
    index.decide(Work(channel=Channel.EMAIL), {}, NOW, weights)  # builds the channel order
    latencies: list[int] = []
    apply_ns: list[int] = []
    scored: list[int] = []
    assigned = 0
    in_use = sum(a.capacity.load(a.open_work) for a in agents if a.online)  # budget units in use
    active: deque[tuple[int, Channel, int]] = deque()
    verified = 0
    loop_started = time.perf_counter()
    for waiting in ordered:
        item = by_id[waiting.conversation_id]
        before = time.perf_counter_ns()
        decision = index.decide(item.work, item.past_agents, NOW, weights)
        latencies.append(time.perf_counter_ns() - before)
        scored.append(decision.scored)
        if verify_every and len(latencies) % verify_every == 0:
            verified += 1
            verify(index, item, decision.agent_id, weights)
        if decision.agent_id is None:
            continue
        before = time.perf_counter_ns()
        agent_id, channel = decision.agent_id, item.work.channel
        index.work_assigned(agent_id, channel)
        index.set_idle_since(agent_id, None)
        cost = index.state(agent_id).capacity.cost(channel)
        active.append((agent_id, channel, cost))
        in_use += cost
        # Older work finishes so that the floor stays around the target utilisation.
        while in_use > TARGET_UTILISATION * total_budget and active:
            done_agent, done_channel, done_cost = active.popleft()
            index.work_finished(done_agent, done_channel)
            if not index.state(done_agent).open_work:
                index.set_idle_since(done_agent, NOW)
            in_use -= done_cost
        apply_ns.append(time.perf_counter_ns() - before)
        assigned += 1
    loop_seconds = time.perf_counter() - loop_started

    latencies.sort()
    apply_ns.sort()
    decide_seconds = sum(latencies) / 1e9
    print(
        f"decisions: {len(latencies)}, assigned: {assigned}, left waiting: {len(latencies) - assigned}"
    )
    print(
        "decision latency: "
        f"p50 {percentile(latencies, 0.50) / 1e6:.3f} ms, "
        f"p99 {percentile(latencies, 0.99) / 1e6:.3f} ms, "
        f"max {latencies[-1] / 1e6:.3f} ms, "
        f"mean {statistics.fmean(latencies) / 1e6:.3f} ms"
    )
    print(f"decisions/s (decide only): {len(latencies) / decide_seconds:,.0f}")
    print(f"decisions/s (decide + apply + finishing work): {len(latencies) / loop_seconds:,.0f}")
    if apply_ns:
        print(
            "applying a decision to the index: "
            f"p50 {percentile(apply_ns, 0.50) / 1e6:.3f} ms, "
            f"p99 {percentile(apply_ns, 0.99) / 1e6:.3f} ms"
        )
    if verified:
        print(f"checked {verified} decisions against choose_agent over all agents: identical")
    scored.sort()
    print(
        f"agents scored per decision: p50 {percentile(scored, 0.5)}, "
        f"p99 {percentile(scored, 0.99)}, max {scored[-1]} (of {agent_count})"
    )


def verify(index: RoutingIndex, item: WaitingItem, chosen: int | None, weights: Weights) -> None:
    """The index must pick exactly whom the plain scan over every agent picks."""
    everyone = [
        replace(a, past_contacts=tuple(item.past_agents.get(a.agent_id, ())))
        for a in index.states()
    ]
    expected, _ = choose_agent(everyone, item.work, NOW, weights)
    expected_id = expected.agent_id if expected else None
    if chosen != expected_id:
        raise SystemExit(f"index chose {chosen}, choose_agent {expected_id} for {item.work}")


# --- End to end on PostgreSQL -------------------------------------------------------------


class _ProcessResult(NamedTuple):
    latencies: list[float]  # each agent's transaction, seconds
    statements: int
    finished: float  # when the last transaction ended, epoch seconds
    cpu: float  # CPU seconds the process spent on it


def _bring_online_process(
    dsn: str, workspace_id: int, agent_ids: list[int], workers: int, starts_at: float
) -> _ProcessResult:
    return asyncio.run(_bring_online(dsn, workspace_id, agent_ids, workers, starts_at))


async def _bring_online(
    dsn: str, workspace_id: int, agent_ids: list[int], workers: int, starts_at: float
) -> _ProcessResult:
    """Agents come online through the real service."""
    from sqlalchemy import event

    from threadline.bootstrap import build_runtime, freeze_startup_objects
    from threadline.config import Settings
    from threadline.domain.security.access import Principal, Role
    from threadline.workspace.agents import update_agent

    runtime = build_runtime(Settings(database_url=dsn, redis_url="", run_outbound_worker=False))
    freeze_startup_objects()  # as `threadline serve` and `threadline worker` do
    statements = 0

    def count(*_args: object) -> None:
        nonlocal statements
        statements += 1

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
    admin = Principal(workspace_id=workspace_id, role=Role.ADMIN, agent_id=None)
    pending = deque(agent_ids)
    latencies: list[float] = []

    async def worker() -> None:
        while pending:
            agent_id = pending.popleft()
            began = time.perf_counter()
            async with runtime.uow() as uow:
                await update_agent(uow, admin, agent_id, {"presence": "online"})
                await uow.commit()
            latencies.append(time.perf_counter() - began)

    try:
        await asyncio.sleep(max(0.0, starts_at - time.time()))
        cpu_before = time.process_time()
        await asyncio.gather(*(worker() for _ in range(workers)))
        finished = time.time()
        cpu = time.process_time() - cpu_before
    finally:
        await runtime.close()
    return _ProcessResult(latencies, statements, finished, cpu)


async def _end_to_end(
    dsn: str, agents: int, backlog: int, workers: int, processes: int, seed: int
) -> None:
    from sqlalchemy import func, insert, select

    from threadline.adapters.db import tables as t
    from threadline.bootstrap import build_runtime
    from threadline.config import Settings
    from threadline.domain.security.access import Role
    from threadline.workspace.create import create_agent, create_inbox, create_workspace

    rng = random.Random(seed)
    runtime = build_runtime(Settings(database_url=dsn, redis_url="", run_outbound_worker=False))
    try:
        async with runtime.uow() as uow:
            ws = await create_workspace(uow, name="Bench", slug="bench")
            inboxes = {
                channel: (await create_inbox(uow, ws.id, name=channel.value, channel=channel)).id
                for channel in (Channel.WEB_CHAT, Channel.EMAIL, Channel.WHATSAPP)
            }
            agent_ids = []
            for number in range(agents):
                agent = await create_agent(
                    uow,
                    ws.id,
                    email=f"agent{number}@bench.example.com",
                    name=f"Agent {number}",
                    role=Role.AGENT,
                    channel_competences={c.value: rng.randint(3, 10) for c in inboxes},
                )
                agent_ids.append(agent.id)
            await uow.commit()
        # The backlog is set up directly (it is not what is measured): customers with waiting
        # conversations, one a second apart, in the three channels.
        start = NOW - timedelta(seconds=backlog)
        async with runtime.uow() as uow:
            customer_ids = (
                (
                    await uow.session.execute(
                        insert(t.Customer).returning(t.Customer.id),
                        [
                            {
                                "workspace_id": ws.id,
                                "name": f"Customer {n}",
                                "attributes": {},
                                "labels": [],
                                "created_at": start,
                                "updated_at": start,
                            }
                            for n in range(backlog)
                        ],
                    )
                )
                .scalars()
                .all()
            )
            rows = []
            for n, customer_id in enumerate(customer_ids):
                channel = rng.choice(list(inboxes))
                at = start + timedelta(seconds=n)
                rows.append(
                    {
                        "workspace_id": ws.id,
                        "customer_id": customer_id,
                        "status": "open",
                        "priority": "normal",
                        "attributes": {},
                        "last_inbound_channel": channel.value,
                        "last_inbound_inbox_id": inboxes[channel],
                        "last_inbound_at": at,
                        "last_message_at": at,
                        "created_at": at,
                    }
                )
            await uow.session.execute(insert(t.Conversation), rows)
            uow.session.add(
                t.RoutingSettings(workspace_id=ws.id, mode="auto", weights={}, updated_at=NOW)
            )
            await uow.commit()

        # Several processes (as several API/worker processes would), each with a few
        # concurrent transactions, all starting at the same moment.
        starts_at = time.time() + 3.0
        slices = [agent_ids[n::processes] for n in range(processes)]
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(processes, mp_context=context) as pool:
            futures = [
                pool.submit(
                    _bring_online_process,
                    dsn,
                    ws.id,
                    part,
                    max(1, workers // processes),
                    starts_at,
                )
                for part in slices
            ]
            # The machine's busy time from the common start, not the processes' start-up.
            await asyncio.sleep(max(0.0, starts_at - time.time()))
            machine_before = _machine_busy_seconds()
            results = [future.result() for future in futures]
            machine_after = _machine_busy_seconds()
        elapsed = max(result.finished for result in results) - starts_at
        latencies = [value for result in results for value in result.latencies]
        statements = sum(result.statements for result in results)
        routers_cpu = sum(result.cpu for result in results)
        async with runtime.sessionmaker() as session:
            assigned = int(
                (await session.execute(select(func.count()).select_from(t.Assignment))).scalar_one()
            )
            over = (
                await session.execute(
                    select(func.count()).select_from(t.AgentLoad).where(t.AgentLoad.load > 100)
                )
            ).scalar_one()
            doubled = (
                await session.execute(
                    select(func.count()).select_from(
                        select(t.Assignment.conversation_id)
                        .group_by(t.Assignment.conversation_id)
                        .having(func.count() > 1)
                        .subquery()
                    )
                )
            ).scalar_one()
    finally:
        await runtime.close()
    latencies.sort()
    print(
        f"end to end on PostgreSQL: {agents} agents come online against {backlog} waiting "
        f"conversations, {workers} concurrent transactions in {processes} process(es)"
    )
    print(
        f"  {assigned} assignments in {elapsed:.2f} s = {assigned / elapsed:,.0f} assignments/s "
        f"({len(latencies) / elapsed:,.0f} agents/s)"
    )
    print(
        "  per agent coming online (its presence change, then the fill pass that serves it): "
        f"p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms"
    )
    print(
        f"  {statements} SQL statements = {statements / max(1, assigned):.1f} per assignment; "
        f"agents over budget: {over}; conversations assigned twice: {doubled}"
    )
    if machine_before is not None and machine_after is not None:
        machine_busy = machine_after - machine_before
        print(
            f"  CPU per assignment: {routers_cpu / max(1, assigned) * 1000:.2f} ms in the "
            f"routing processes, {(machine_busy - routers_cpu) / max(1, assigned) * 1000:.2f} ms "
            "elsewhere (PostgreSQL, mostly; the whole machine's busy time while they ran, "
            f"{machine_busy / elapsed / (os.cpu_count() or 1):.0%} of its "
            f"{os.cpu_count()} cores)"
        )


def _machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat (Linux)."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except OSError:
        return None
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def end_to_end_postgresql(
    pg_dsn: str, agents: int, backlog: int, workers: int, processes: int, seed: int
) -> None:
    """A fresh database: migrate, run, drop."""
    import uuid

    import psycopg

    from threadline.adapters.db.migrate import upgrade_to_head

    name = f"threadline_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = f"{pg_dsn.rsplit('/', 1)[0]}/{name}"
    try:
        upgrade_to_head(dsn)
        asyncio.run(_end_to_end(dsn, agents, backlog, workers, processes, seed))
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--waiting", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--verify-every",
        type=int,
        default=500,
        help="compare every Nth decision with choose_agent over all agents (0: never)",
    )
    parser.add_argument("--pg-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--e2e-agents", type=int, default=1_200)
    parser.add_argument("--e2e-waiting", type=int, default=8_000)
    parser.add_argument(
        "--e2e-workers", type=int, default=128, help="concurrent transactions, in all"
    )
    parser.add_argument("--e2e-processes", type=int, default=2)
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    if not args.skip_in_process:
        in_process(args.agents, args.waiting, args.seed, args.verify_every)
    if not args.skip_postgres:
        end_to_end_postgresql(
            args.pg_dsn,
            args.e2e_agents,
            args.e2e_waiting,
            args.e2e_workers,
            args.e2e_processes,
            args.seed,
        )


if __name__ == "__main__":
    # Our log lines at warning and above only: structlog unconfigured prints every one.
    configure_logging(Settings(log_level="WARNING", secret_key="benchmarks-only"))
    main()
