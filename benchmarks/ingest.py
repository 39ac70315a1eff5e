"""Ingest throughput: messages per second through `receive_message`, on SQLite and PostgreSQL.

The traffic mixes first contacts (a new customer and conversation) with messages from known
customers that join their open conversation, over email, SMS, voice, WhatsApp and web chat.

    .venv/bin/python benchmarks/ingest.py [--messages 3000] [--producers 8] [--skip-postgres]

PostgreSQL runs in a throw-away database created on --pg-dsn and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from benchmarks.table import print_table
from threadline.adapters.db.migrate import upgrade_to_head
from threadline.bootstrap import Runtime, build_runtime
from threadline.config import Settings
from threadline.conversations.receive import receive_message
from threadline.domain.channels import Channel, IdentityKind
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.entrypoints.logging_setup import configure_logging
from threadline.workspace.create import create_inbox, create_workspace

CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.VOICE, Channel.WHATSAPP, Channel.WEB_CHAT)


@dataclass(frozen=True)
class Outcome:
    backend: str
    producers: int
    messages: int
    new_customers: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    def percentiles(self) -> tuple[float, float]:
        """The median and the 95th percentile, in milliseconds."""
        return self.percentile(0.5), self.percentile(0.95)


@dataclass(frozen=True)
class Customer:
    email: str
    phone: str
    visitor: str

    def sender(self, channel: Channel) -> SenderIdentity:
        if channel is Channel.EMAIL:
            return SenderIdentity(IdentityKind.EMAIL, self.email)
        if channel is Channel.WEB_CHAT:
            return SenderIdentity(IdentityKind.WEB_VISITOR, self.visitor)
        return SenderIdentity(IdentityKind.PHONE, self.phone)

    def others(self, channel: Channel) -> tuple[SenderIdentity, ...]:
        primary = self.sender(channel)
        every = (
            SenderIdentity(IdentityKind.EMAIL, self.email),
            SenderIdentity(IdentityKind.PHONE, self.phone),
            SenderIdentity(IdentityKind.WEB_VISITOR, self.visitor),
        )
        return tuple(i for i in every if i != primary)


def plan_traffic(
    rng: random.Random, count: int, new_share: float
) -> list[tuple[Customer, Channel, bool]]:
    customers: list[Customer] = []
    plan: list[tuple[Customer, Channel, bool]] = []
    for number in range(count):
        is_new = not customers or rng.random() < new_share
        if is_new:
            customer = Customer(
                email=f"customer{number}@bench.example.com",
                # Unique for the first 10,000 customers, so a "new" customer is really new.
                phone=f"+48 60{number % 10} {number // 10 % 1000:03d} {rng.randrange(1000):03d}",
                visitor=f"wv_{number:08d}",
            )
            customers.append(customer)
        else:
            customer = rng.choice(customers)
        plan.append((customer, rng.choice(CHANNELS), is_new))
    return plan


async def prepare_workspace(runtime: Runtime, slug: str) -> tuple[int, dict[Channel, int]]:
    async with runtime.uow() as uow:
        workspace = await create_workspace(uow, name=slug, slug=slug, default_region="PL")
        inboxes = {}
        for channel in CHANNELS:
            inbox = await create_inbox(uow, workspace.id, name=channel.value, channel=channel)
            inboxes[channel] = inbox.id
        await uow.commit()
    return workspace.id, inboxes


async def run_once(
    backend: str, url: str, count: int, producers: int, new_share: float, seed: int
) -> Outcome:
    runtime = build_runtime(Settings(database_url=url, redis_url="", run_outbound_worker=False))
    try:
        workspace_id, inboxes = await prepare_workspace(runtime, f"bench-{uuid.uuid4().hex[:8]}")
        plan = plan_traffic(random.Random(seed), count, new_share)
        pending = iter(plan)
        latencies: list[float] = []

        async def producer() -> None:
            for customer, channel, is_new in pending:
                inbound = InboundMessage(
                    inbox_id=inboxes[channel],
                    sender=customer.sender(channel),
                    text="Is my order on its way?",
                    channel=channel,
                    other_identities=customer.others(channel) if is_new else (),
                    call={"outcome": "answered", "duration_seconds": 60}
                    if channel is Channel.VOICE
                    else None,
                )
                began = time.perf_counter()
                await receive_message(runtime.uow, workspace_id, inbound)
                latencies.append(time.perf_counter() - began)

        started = time.perf_counter()
        await asyncio.gather(*(producer() for _ in range(producers)))
        elapsed = time.perf_counter() - started
    finally:
        await runtime.close()
    return Outcome(backend, producers, count, sum(1 for *_, new in plan if new), elapsed, latencies)


def create_postgres_database(admin_dsn: str) -> tuple[str, str]:
    name = f"threadline_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"{admin_dsn.rsplit('/', 1)[0]}/{name}"


def drop_postgres_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


INGEST_COLUMNS = [
    ("backend", "<11"),
    ("producers", ">10"),
    ("messages", ">10"),
    ("new cust.", ">10"),
    ("seconds", ">9.1f"),
    ("msg/s", ">9.0f"),
    ("p50 ms", ">8.1f"),
    ("p95 ms", ">8.1f"),
]


def print_outcomes(outcomes: list[Outcome]) -> None:
    rows = [
        (o.backend, o.producers, o.messages, o.new_customers, o.seconds, o.rate, *o.percentiles())
        for o in outcomes
    ]
    print_table(INGEST_COLUMNS, rows)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000, help="messages per run")
    parser.add_argument("--new-share", type=float, default=0.3, help="share of first contacts")
    parser.add_argument("--producers", type=int, default=8, help="concurrent producers on PG")
    parser.add_argument("--pg-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        upgrade_to_head(url)
        outcomes.append(await run_once("sqlite", url, args.messages, 1, args.new_share, args.seed))

    if not args.skip_postgres:
        name, dsn = create_postgres_database(args.pg_dsn)
        try:
            upgrade_to_head(dsn)
            for producers in sorted({1, args.producers}):
                outcomes.append(
                    await run_once(
                        "postgresql", dsn, args.messages, producers, args.new_share, args.seed
                    )
                )
        finally:
            drop_postgres_database(args.pg_dsn, name)
    print_outcomes(outcomes)


if __name__ == "__main__":
    # Our log lines at warning and above only: structlog unconfigured prints every one.
    configure_logging(Settings(log_level="WARNING", secret_key="benchmarks-only"))
    asyncio.run(main())
