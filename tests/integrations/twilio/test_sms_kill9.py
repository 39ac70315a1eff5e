"""SMS workers killed with kill -9 mid-send: every reply reaches Twilio exactly once.

The workers are real OS processes (`python -m threadline.entrypoints.outbound_worker`)
sending to the local Twilio stand-in, which waits a moment before answering each message
it took, so a worker killed at any moment leaves messages Twilio has but never answered
for. The workers that take over must find those in Twilio's Messages list instead of
sending them again (tests/delivery/test_outbound_kill9.py does the same for the API channel).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import make_workspace
from tests.support.delivery import agent_replies
from tests.support.delivery_workers import WorkerProcesses, wait_until_all_sent
from tests.support.twilio import FakeTwilio, configure_twilio_inbox, running_fake_twilio
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime, build_runtime
from threadline.config import Settings
from threadline.conversations.receive import receive_message
from threadline.domain.channels import Channel, IdentityKind
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity

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


@pytest.fixture
def workers(database_url: str, twilio: FakeTwilio, tmp_path: Path) -> Iterator[WorkerProcesses]:
    started = WorkerProcesses(
        database_url,
        tmp_path,
        twilio_api_base=twilio.url,
        public_base_url="",
        outbound_lease_seconds=LEASE_SECONDS,
        outbound_timeout_seconds=1.5,
        outbound_backoff_seconds=0.2,
    )
    yield started
    started.stop_all()


async def queue_replies(runtime: Runtime) -> dict[str, int]:
    """One inbound SMS from each of REPLIES customers and an agent's reply to each: the
    reply ids by their text."""
    ws = await make_workspace(runtime, "acme", region="US")
    await configure_twilio_inbox(runtime, ws.inboxes["sms"])
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
        replies[text] = await agent_replies(
            runtime, ws, received.conversation_id, text, Channel.SMS
        )
    return replies


def wait_for_unanswered(twilio: FakeTwilio, at_least: int, within: float) -> None:
    deadline = time.monotonic() + within
    while twilio.unanswered < at_least:
        assert time.monotonic() < deadline, "the worker never had messages in flight"
        time.sleep(0.005)


async def test_sms_workers_killed_mid_send_leave_no_reply_sent_twice(
    real_time_runtime: Runtime, twilio: FakeTwilio, workers: WorkerProcesses
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
    await wait_until_all_sent(runtime, REPLIES, within=60, poll_seconds=0.2)

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
