"""Outbound delivery survives kill -9 and shares work between worker processes (PostgreSQL).

The workers here are real OS processes (`python -m threadline.entrypoints.outbound_worker`)
sending to a real local HTTP receiver; the test only queues replies and watches.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select, update

from tests.conftest import WorkspaceFixture, make_workspace
from tests.support.delivery import agent_replies
from tests.support.delivery_workers import WorkerProcesses, wait_until_all_sent
from tests.support.receiver import Answer, Receiver
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime, build_runtime
from threadline.config import Settings
from threadline.conversations.receive import receive_message
from threadline.domain.channels import IdentityKind
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity

pytestmark = [pytest.mark.anyio, pytest.mark.postgres_only, pytest.mark.slow]


def _empty_database(url: str) -> None:
    # Other tests may have left queued jobs behind; our workers would send those too.
    tables = ", ".join(f'"{table.name}"' for table in t.Base.metadata.sorted_tables)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture
async def pg_runtime(postgres_database: str) -> AsyncIterator[Runtime]:
    _empty_database(postgres_database)
    runtime = build_runtime(Settings(database_url=postgres_database, run_outbound_worker=False))
    yield runtime
    await runtime.close()


@pytest.fixture
def workers(postgres_database: str, tmp_path: Path) -> Iterator[WorkerProcesses]:
    # A worker gives the app 10 s unless a test says otherwise.
    started = WorkerProcesses(postgres_database, tmp_path, outbound_timeout_seconds=10)
    yield started
    started.stop_all()


async def prepare(runtime: Runtime, receiver: Receiver) -> WorkspaceFixture:
    ws = await make_workspace(runtime, "acme")
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(t.Inbox)
            .where(t.Inbox.id == ws.inboxes["api"])
            .values(settings={"webhook_url": receiver.url})
        )
        await session.commit()
        inbox = await session.get(t.Inbox, ws.inboxes["api"])
        assert inbox is not None and inbox.secret
        receiver.secret = inbox.secret
    return ws


async def queue_reply(runtime: Runtime, ws: WorkspaceFixture, customer: str, text: str) -> int:
    received = await receive_message(
        runtime.uow,
        ws.id,
        InboundMessage(
            inbox_id=ws.inboxes["api"],
            sender=SenderIdentity(IdentityKind.EXTERNAL, customer),
            text="Where is my parcel?",
        ),
    )
    return await agent_replies(runtime, ws, received.conversation_id, text)


async def sent_announcements(runtime: Runtime) -> Counter[int]:
    """How many times agents were told each message went to `sent`."""
    async with runtime.sessionmaker() as session:
        payloads = (
            await session.execute(select(t.Event.payload).where(t.Event.type == "message.updated"))
        ).scalars()
        return Counter(
            p["message"]["id"] for p in payloads if p["message"]["delivery_status"] == "sent"
        )


async def test_a_worker_killed_mid_send_is_replaced_and_the_reply_is_sent_once(
    pg_runtime: Runtime, receiver: Receiver, workers: WorkerProcesses
) -> None:
    ws = await prepare(pg_runtime, receiver)
    receiver.answer_next(Answer(hang=True))
    message_id = await queue_reply(pg_runtime, ws, "app-user-1", "Your parcel left today.")

    # The first worker hangs on the app; its lease is short so a successor need not wait long.
    workers.start("first", outbound_lease_seconds=3, outbound_timeout_seconds=30)
    await asyncio.to_thread(receiver.wait_for_requests, 1, 30)
    workers.kill_hard(0)

    async with pg_runtime.sessionmaker() as session:
        job = (await session.execute(select(t.OutboundJob))).scalar_one()
        # Still leased to the dead worker: in flight, its outcome unknown.
        assert (job.status, job.attempts) == ("sending", 1)
        message = await session.get(t.Message, message_id)
        assert message is not None and message.delivery_status == "queued"

    workers.start("second", outbound_lease_seconds=2, outbound_timeout_seconds=1)
    await wait_until_all_sent(pg_runtime, 1, within=30)

    keys = receiver.keys()
    assert len(keys) == 2 and len(set(keys)) == 1  # the same Idempotency-Key both times
    assert receiver.deliveries == keys[:1]
    assert all(r.signature_ok for r in receiver.requests)
    async with pg_runtime.sessionmaker() as session:
        job = (await session.execute(select(t.OutboundJob))).scalar_one()
        assert (job.status, job.attempts) == ("done", 2)
    assert await sent_announcements(pg_runtime) == {message_id: 1}


async def test_two_workers_share_fifty_replies_and_send_each_once(
    pg_runtime: Runtime, receiver: Receiver, workers: WorkerProcesses
) -> None:
    ws = await prepare(pg_runtime, receiver)
    # A slightly slow app, so that both workers have work in flight at once.
    receiver.default = Answer(delay=0.05)
    logs = [workers.start(name, outbound_lease_seconds=30) for name in ("one", "two")]
    for log in logs:
        await asyncio.to_thread(_wait_for_text, log, "outbound.worker_started", 30)

    message_ids = [
        await queue_reply(pg_runtime, ws, f"app-user-{n}", f"Reply number {n}") for n in range(50)
    ]
    await wait_until_all_sent(pg_runtime, 50, within=60)

    keys = receiver.keys()
    assert len(set(keys)) == 50
    assert len(keys) == 50, "a reply was sent more than once"
    assert sorted(receiver.deliveries) == sorted(k for k in keys if k)
    texts = sorted(r.body["message"]["text"] for r in receiver.requests)
    assert texts == sorted(f"Reply number {n}" for n in range(50))
    announced = await sent_announcements(pg_runtime)
    assert announced == dict.fromkeys(message_ids, 1)
    async with pg_runtime.sessionmaker() as session:
        statuses = (await session.execute(select(t.OutboundJob.status))).scalars().all()
    assert Counter(statuses) == {"done": 50}


def _wait_for_text(path: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError(f"{path.name} never logged {text!r}:\n{path.read_text()}")
