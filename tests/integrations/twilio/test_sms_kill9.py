"""SMS workers killed with kill -9 mid-send: every reply reaches Twilio exactly once.

The workers are real OS processes (`python -m threadline.entrypoints.outbound_worker`)
sending to the local Twilio stand-in, which waits a moment before answering each message
it took, so a worker killed at any moment leaves messages Twilio has but never answered
for. The workers that take over must find those in Twilio's Messages list instead of
sending them again (tests/delivery/test_outbound_kill9.py does the same for the API channel).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import make_workspace
from tests.support.twilio import FakeTwilio, configure_twilio_inbox, running_fake_twilio
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime, build_runtime
from threadline.config import Settings
from threadline.conversations.receive import receive_message
from threadline.conversations.replies import ReplyRequest, reply
from threadline.domain.channels import Channel, IdentityKind
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.domain.security.access import Principal, Role

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

REPLIES = 60
LEASE_SECONDS = 2


@pytest.fixture
async def real_time_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    # The workers run on the real clock; so must the jobs they are given.
    runtime = build_runtime(settings)
    yield runtime
    await runtime.close()


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with running_fake_twilio() as fake:
        fake.answer_delay = 0.3
        yield fake


class Workers:
    def __init__(self, database_url: str, twilio_url: str, log_dir: Path) -> None:
        self.env = {
            **os.environ,
            "THREADLINE_DATABASE_URL": database_url,
            "THREADLINE_REDIS_URL": "",
            "THREADLINE_TWILIO_API_BASE": twilio_url,
            "THREADLINE_PUBLIC_BASE_URL": "",
            "THREADLINE_OUTBOUND_LEASE_SECONDS": str(LEASE_SECONDS),
            "THREADLINE_OUTBOUND_TIMEOUT_SECONDS": "1.5",
            "THREADLINE_OUTBOUND_BACKOFF_SECONDS": "0.2",
            "PYTHONUNBUFFERED": "1",
        }
        self.log_dir = log_dir
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        with (self.log_dir / f"worker-{len(self.started)}.log").open("wb") as log:
            self.started.append(
                subprocess.Popen(
                    [sys.executable, "-m", "threadline.entrypoints.outbound_worker"],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )

    def kill_hard(self, index: int) -> None:
        os.kill(self.started[index].pid, signal.SIGKILL)
        assert self.started[index].wait(10) == -signal.SIGKILL

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(5)


@pytest.fixture
def workers(database_url: str, twilio: FakeTwilio, tmp_path: Path) -> Iterator[Workers]:
    started = Workers(database_url, twilio.url, tmp_path)
    yield started
    started.stop_all()


async def queue_replies(runtime: Runtime) -> dict[str, int]:
    """One inbound SMS from each of REPLIES customers and an agent's reply to each: the
    reply ids by their text."""
    ws = await make_workspace(runtime, "acme", region="US")
    await configure_twilio_inbox(runtime, ws.inboxes["sms"])
    principal = Principal(workspace_id=ws.id, role=Role.AGENT, agent_id=ws.agent_id)
    replies: dict[str, int] = {}
    for n in range(REPLIES):
        received = await receive_message(
            runtime.uow,
            ws.id,
            InboundMessage(
                inbox_id=ws.inboxes["sms"],
                sender=SenderIdentity(IdentityKind.PHONE, f"+1415555{n:04d}"),
                channel=Channel.SMS,
                text="Where is my parcel?",
            ),
        )
        text = f"Reply number {n}: it ships today."
        async with runtime.uow() as uow:
            message = await reply(
                uow, principal, ReplyRequest(received.conversation_id, text, channel=Channel.SMS)
            )
            await uow.commit()
        replies[text] = message.id
    return replies


def wait_for_unanswered(twilio: FakeTwilio, at_least: int, within: float) -> None:
    deadline = time.monotonic() + within
    while twilio.unanswered < at_least:
        assert time.monotonic() < deadline, "the worker never had messages in flight"
        time.sleep(0.005)


async def wait_until_all_sent(runtime: Runtime, within: float) -> None:
    deadline = time.monotonic() + within
    done = 0
    while time.monotonic() < deadline:
        async with runtime.sessionmaker() as session:
            done = (
                await session.execute(
                    select(func.count())
                    .select_from(t.Message)
                    .where(t.Message.direction == "outbound", t.Message.delivery_status == "sent")
                )
            ).scalar_one()
        if done >= REPLIES:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"only {done} of {REPLIES} replies were sent within {within}s")


async def test_sms_workers_killed_mid_send_leave_no_reply_sent_twice(
    real_time_runtime: Runtime, twilio: FakeTwilio, workers: Workers
) -> None:
    runtime = real_time_runtime
    replies = await queue_replies(runtime)

    # Kill two workers, each while Twilio holds messages it has not answered for yet.
    left_in_doubt = 0
    for victim in range(2):
        workers.start()
        await asyncio.to_thread(wait_for_unanswered, twilio, 5, 30)
        workers.kill_hard(victim)
        left_in_doubt += twilio.unanswered
    assert left_in_doubt >= 2
    workers.start()
    await wait_until_all_sent(runtime, within=60)

    taken = Counter(twilio.accepted_bodies())
    twice = sorted(text for text, times in taken.items() if times > 1)
    assert twice == [], f"{len(twice)} of {REPLIES} replies reached Twilio twice"
    assert set(taken) == set(replies)
    # The messages the killed workers never heard about were looked up, and adopted.
    assert twilio.lookups(), "no worker looked a message up: nothing was left in doubt"
    sid_by_text = {m["body"]: m["sid"] for m in twilio.accepted}
    async with runtime.sessionmaker() as session:
        rows = (
            await session.execute(
                select(
                    t.Message.text, t.Message.provider_message_id, t.Message.delivery_status
                ).where(t.Message.direction == "outbound")
            )
        ).all()
        jobs = Counter((await session.execute(select(t.OutboundJob.status))).scalars())
    assert {text: (sid, status) for text, sid, status in rows} == {
        text: (sid_by_text[text], "sent") for text in replies
    }
    assert jobs == {"done": REPLIES}
