"""An SMS whose send Twilio took but did not answer in time is sent once, not twice.

Twilio takes no idempotency key. The local stand-in (tests/support/twilio.py) accepts the
message and then answers only after our timeout, or drops the connection: the reply must
then be found in Twilio's Messages list and take Twilio's SID, not be posted again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import WorkspaceFixture
from tests.support.delivery import POLICY, deliver_over_one_client, message_and_job
from tests.support.twilio import (
    BASE_URL,
    CUSTOMER_NUMBER,
    OUR_NUMBER,
    FakeTwilio,
    fixture_pairs,
    post_signed,
    running_fake_twilio,
)
from tests.support.twilio_sms import answer_a_customer_sms, sms_inbox_on
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime

pytestmark = pytest.mark.anyio

TEXT = "Your parcel left the warehouse today."


@pytest.fixture
def twilio(clock: ManualClock) -> Iterator[FakeTwilio]:
    with running_fake_twilio() as fake:
        fake.clock = clock.now
        fake.hang_seconds = 2.0
        yield fake


@pytest.fixture
async def sms_inbox(runtime: Runtime, workspace: WorkspaceFixture, twilio: FakeTwilio) -> int:
    inbox_id = await sms_inbox_on(runtime, workspace, twilio)
    # Twilio "answers after our timeout": the stand-in holds its answer for 2 s.
    runtime.settings.outbound_timeout_seconds = 0.3
    return inbox_id


async def reply_by_sms(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture, sms_inbox: int
) -> int:
    return await answer_a_customer_sms(runtime, client, workspace, sms_inbox, TEXT)


async def sent_announcements(runtime: Runtime, message_id: int) -> int:
    async with runtime.sessionmaker() as session:
        payloads = (
            await session.execute(select(t.Event.payload).where(t.Event.type == "message.updated"))
        ).scalars()
        return sum(
            1
            for p in payloads
            if p["message"]["id"] == message_id and p["message"]["delivery_status"] == "sent"
        )


@pytest.mark.parametrize("failure", ["hang", "drop"])
async def test_twilio_answering_after_our_timeout_gets_one_sms_shown_sent_with_its_sid(
    runtime: Runtime,
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    sms_inbox: int,
    twilio: FakeTwilio,
    clock: ManualClock,
    failure: str,
) -> None:
    message_id = await reply_by_sms(runtime, client, workspace, sms_inbox)
    twilio.misbehave_next(failure)

    first = await deliver_over_one_client(runtime)

    # Twilio has the message, but we never heard so: in doubt, not failed, not resent yet.
    assert (first.unconfirmed, first.sent, first.retrying) == (1, 0, 0)
    assert twilio.accepted_bodies() == [TEXT]
    message, job = await message_and_job(runtime, message_id)
    assert message.delivery_status == "queued"
    assert job.status == "unconfirmed" and job.in_doubt_since == clock.now()
    assert "checking with the provider" in message.meta["last_delivery_error"]

    clock.advance(POLICY.backoff(1) + timedelta(seconds=1))
    second = await deliver_over_one_client(runtime)

    assert (second.sent, second.adopted) == (1, 1)
    assert len(twilio.messages_posted()) == 1, "the SMS was posted to Twilio twice"
    assert twilio.accepted_bodies() == [TEXT]
    [lookup] = twilio.lookups()
    assert lookup.authorized
    assert lookup.query == {
        "To": CUSTOMER_NUMBER,
        "From": OUR_NUMBER,
        "DateSent>": "2026-11-02",
        "PageSize": "50",
    }
    message, job = await message_and_job(runtime, message_id)
    assert message.delivery_status == "sent"
    assert message.provider_message_id == twilio.accepted[0]["sid"]
    assert (job.status, job.in_doubt_since) == ("done", None)
    assert await sent_announcements(runtime, message_id) == 1

    clock.advance(timedelta(hours=1))
    assert (await deliver_over_one_client(runtime)).claimed == 0
    assert len(twilio.messages_posted()) == 1


async def test_a_send_twilio_never_took_is_sent_after_the_lookup_finds_nothing(
    runtime: Runtime,
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    sms_inbox: int,
    twilio: FakeTwilio,
    clock: ManualClock,
) -> None:
    message_id = await reply_by_sms(runtime, client, workspace, sms_inbox)
    twilio.misbehave_next("lose")
    assert (await deliver_over_one_client(runtime)).unconfirmed == 1
    assert twilio.accepted_bodies() == []

    clock.advance(POLICY.backoff(1) + timedelta(seconds=1))
    report = await deliver_over_one_client(runtime)

    assert (report.sent, report.adopted) == (1, 0)
    assert len(twilio.lookups()) == 1
    assert len(twilio.messages_posted()) == 2
    assert twilio.accepted_bodies() == [TEXT]
    message, job = await message_and_job(runtime, message_id)
    assert message.delivery_status == "sent"
    assert message.provider_message_id == twilio.accepted[0]["sid"]
    assert job.status == "done"


async def test_a_status_callback_naming_our_key_settles_the_send_without_a_lookup(
    runtime: Runtime,
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    sms_inbox: int,
    twilio: FakeTwilio,
    clock: ManualClock,
) -> None:
    runtime.settings.public_base_url = BASE_URL
    message_id = await reply_by_sms(runtime, client, workspace, sms_inbox)
    twilio.misbehave_next("hang")
    assert (await deliver_over_one_client(runtime)).unconfirmed == 1
    [posted] = twilio.messages_posted()
    sid = twilio.accepted[0]["sid"]

    # Twilio calls the StatusCallback we gave it, our key in its query, signed over it all.
    callback = urlsplit(posted.form["StatusCallback"])
    response = await post_signed(
        client,
        f"{callback.path}?{callback.query}",
        fixture_pairs("sms_status_delivered.form", SID=sid),
    )
    assert response.status_code == 200, response.text

    message, job = await message_and_job(runtime, message_id)
    assert (message.delivery_status, message.provider_message_id) == ("delivered", sid)
    assert job.status == "done"
    clock.advance(timedelta(hours=1))
    assert (await deliver_over_one_client(runtime)).claimed == 0
    assert twilio.lookups() == []
    assert len(twilio.messages_posted()) == 1
