"""The demo workspace: a month of a small appliance shop's customer service, replayed.

Every customer message goes through `receive_message` and every agent answer through `reply`,
with a manual clock moved through the last 30 days, so the demo data has exactly the shape
real traffic would leave (identities, continuity, channels, events). Classification, tasks
and offers are written alongside, as the agent screens would.

The steps, in the order they run: the workspace and its people (demo_workspace.py), the
customers (people.py), the timeline of matters (plan.py, along journeys.py), then each step
of it replayed (conversation_steps.py, closing_steps.py), then the agents' content
(agent_content.py). One random generator drives it all, so the order of the calls is the demo.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import unit_of_work_factory
from threadline.core.unit_of_work import UnitOfWorkFactory
from threadline.seed.agent_content import seed_agent_content
from threadline.seed.closing_steps import replay_closing
from threadline.seed.conversation_steps import replay_inbound, replay_reply
from threadline.seed.demo_workspace import DEMO_SLUG, DemoIds, create_demo_workspace
from threadline.seed.people import make_people
from threadline.seed.plan import SPAN, Step, plan_steps


@dataclass(frozen=True)
class SeedProgress:
    """How far the replay is, for a progress bar: steps are messages, replies and closings."""

    steps_done: int
    steps_total: int
    conversations: int
    messages: int


Progress = Callable[[SeedProgress], None]


@dataclass(frozen=True)
class SeedSize:
    """How much to build; the CLI's options hold the demo's default size."""

    customers: int
    conversations: int


@dataclass(frozen=True)
class SeedResult:
    workspace_id: int
    agents: int
    customers: int
    conversations: int
    messages: int
    seconds: float


async def _no_publish(_workspace_id: int, _events: list[dict[str, Any]]) -> None:
    # Nobody is subscribed while seeding; the events stay in the outbox for resuming clients.
    return None


async def demo_workspace_exists(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    async with sessionmaker() as session:
        found = await session.execute(select(t.Workspace.id).where(t.Workspace.slug == DEMO_SLUG))
        return found.first() is not None


async def seed_demo(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    size: SeedSize,
    seed: int = 2026,
    now: datetime | None = None,
    on_progress: Progress | None = None,
) -> SeedResult:
    started = time.perf_counter()
    end = (now or datetime.now(UTC)).replace(microsecond=0)
    start = end - SPAN
    rng = random.Random(seed)
    clock = ManualClock(start - timedelta(days=1))
    uow_factory = unit_of_work_factory(sessionmaker, clock, _no_publish)

    ids = await create_demo_workspace(uow_factory, end)
    people = make_people(rng, size.customers)
    steps = plan_steps(rng, people, size.conversations, start, end)
    messages = await _replay(uow_factory, clock, ids, steps, rng, on_progress)
    await seed_agent_content(uow_factory, ids.workspace_id, random.Random(seed))
    matters = {id(s.matter): s.matter for s in steps}
    return SeedResult(
        workspace_id=ids.workspace_id,
        agents=len(ids.agents),
        customers=sum(1 for p in people if p.contacted),
        conversations=len({m.conversation_id for m in matters.values()}),
        messages=messages,
        seconds=time.perf_counter() - started,
    )


async def _replay(
    uow_factory: UnitOfWorkFactory,
    clock: ManualClock,
    ids: DemoIds,
    steps: list[Step],
    rng: random.Random,
    on_progress: Progress | None,
) -> int:
    """Each step at its moment, in time order; returns how many messages were written."""
    messages = 0
    conversations = 0
    for done, step in enumerate(steps, start=1):
        clock.set(step.at)
        conversations += step.first_in_matter
        if step.kind == "inbound":
            await replay_inbound(uow_factory, ids, step, rng)
            messages += 1
        elif step.kind == "reply":
            await replay_reply(uow_factory, ids, step, rng)
            messages += 1
        else:
            await replay_closing(uow_factory, ids, step, rng)
        if on_progress is not None:
            on_progress(SeedProgress(done, len(steps), conversations, messages))
    return messages
