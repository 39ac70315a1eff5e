"""A WhatsApp or Messenger reply whose send Meta took but did not answer in time is never
sent again: it waits for Meta's status webhook, which names it by the key we sent along,
or fails with a reason an agent can act on when none comes in time.

The Graph API stand-in (tests/support/meta_graph.py) takes the message and then answers
only after our timeout, or drops the connection; the webhooks are Meta's own shapes
(tests/integrations/meta/fixtures/whatsapp/status_*.json, messenger/echo.json) carrying what Meta echoes.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from tests.support.meta import fixture_bytes, outbound_job
from tests.support.meta_graph import GraphServer
from tests.support.meta_workspace import MetaWorkspace
from threadline.adapters.clock import ManualClock
from threadline.delivery.outbound import DeliveryPolicy

pytestmark = pytest.mark.anyio

POLICY = DeliveryPolicy(
    lease=timedelta(seconds=60),
    max_attempts=3,
    backoff_seconds=10,
    report_wait=timedelta(minutes=10),
)
WAMID = "wamid.HBgLNDg2MDEyMzQ1NjcVAgARGBJBQkNERUYwMTIzNDU2Nzg5AA=="
MID = "m_OUTBOUND0002LostAnswerAbCdEfGhIjKlMnOpQrStUvWxYz01"
PSID = "6728419073845123"
REPLY = "Wysyłamy nowy czajnik."


@pytest.fixture
def graph(graph: GraphServer) -> GraphServer:
    graph.hang_seconds = 2.0
    return graph


@pytest.fixture
def meta(meta: MetaWorkspace) -> MetaWorkspace:
    # Meta "answers after our timeout": the stand-in holds its answer for 2 s.
    meta.runtime.settings.outbound_timeout_seconds = 0.3
    meta.policy = POLICY
    return meta


def whatsapp_status(fixture: str, wamid: str, callback_data: str | None) -> bytes:
    """Meta's status webhook for our message, with what Meta echoes of our send."""
    payload = json.loads(fixture_bytes("whatsapp", fixture))
    [status] = payload["entry"][0]["changes"][0]["value"]["statuses"]
    status["id"] = wamid
    if callback_data is not None:
        status["biz_opaque_callback_data"] = callback_data
    return json.dumps(payload).encode()


async def reply_with_lost_answer(
    meta: MetaWorkspace, channel: str, provider_id: str, failure: str = "hang"
) -> tuple[int, dict[str, str]]:
    """The agent's reply, which Meta will take as `provider_id` and then answer too late
    ("hang") or not at all ("drop"); its id and the agent's headers."""
    message_id, agent = await meta.replied(channel, REPLY)
    meta.graph.next_ids.append(provider_id)
    meta.graph.misbehave_next(failure)
    return message_id, agent


async def assert_not_sent_again(meta: MetaWorkspace, clock: ManualClock, later: timedelta) -> None:
    clock.advance(later)
    assert (await meta.deliver()).claimed == 0
    assert len(meta.graph.sends()) == 1


@pytest.mark.parametrize("failure", ["hang", "drop"])
async def test_a_whatsapp_send_answered_too_late_is_not_resent_and_a_status_webhook_settles_it(
    meta: MetaWorkspace, clock: ManualClock, failure: str
) -> None:
    message_id, agent = await reply_with_lost_answer(meta, "whatsapp", WAMID, failure)

    assert (await meta.deliver()).unconfirmed == 1
    shown = await meta.shown(agent, message_id)
    assert shown["delivery_status"] == "queued"
    assert (await outbound_job(meta.runtime, message_id)).status == "unconfirmed"

    # Later rounds, before the deadline, leave it alone: no second send.
    clock.advance(timedelta(minutes=5))
    assert (await meta.deliver()).claimed == 0
    [(sent_body, given_id)] = meta.graph.accepted
    assert given_id == WAMID and len(meta.graph.sends()) == 1

    # Meta's "sent" webhook names the message by the key we sent along.
    raw = whatsapp_status("status_sent.json", WAMID, sent_body["biz_opaque_callback_data"])
    response = await meta.post("whatsapp", raw)
    assert response.status_code == 200, response.text
    assert response.json()["statuses_applied"] == 1

    shown = await meta.shown(agent, message_id)
    assert (shown["delivery_status"], shown["provider_message_id"]) == ("sent", WAMID)
    assert (await outbound_job(meta.runtime, message_id)).status == "done"
    # From now on it is known by its wamid, as any reply.
    raw = whatsapp_status("status_delivered.json", WAMID, None)
    assert (await meta.post("whatsapp", raw)).status_code == 200
    assert (await meta.shown(agent, message_id))["delivery_status"] == "delivered"

    await assert_not_sent_again(meta, clock, timedelta(hours=1))


async def test_a_whatsapp_send_nobody_confirms_fails_at_the_deadline_with_a_reason(
    meta: MetaWorkspace, clock: ManualClock
) -> None:
    message_id, agent = await reply_with_lost_answer(meta, "whatsapp", WAMID)
    assert (await meta.deliver()).unconfirmed == 1

    clock.advance(POLICY.report_wait + timedelta(seconds=1))
    report = await meta.deliver()

    assert report.failed == 1
    assert len(meta.graph.sends()) == 1, "WhatsApp was sent the reply twice"
    shown = await meta.shown(agent, message_id)
    assert shown["delivery_status"] == "failed"
    reason = shown["failure_reason"]
    assert "not confirmed" in reason and "10 min" in reason
    assert "may or may not have reached the customer" in reason
    assert (await outbound_job(meta.runtime, message_id)).status == "failed"

    # A report that still comes shows it did go out after all.
    [(sent_body, _)] = meta.graph.accepted
    raw = whatsapp_status("status_delivered.json", WAMID, sent_body["biz_opaque_callback_data"])
    assert (await meta.post("whatsapp", raw)).status_code == 200
    shown = await meta.shown(agent, message_id)
    assert (shown["delivery_status"], shown["failure_reason"]) == ("delivered", None)
    assert shown["provider_message_id"] == WAMID


async def test_a_whatsapp_send_whose_worker_was_overtaken_is_not_sent_twice(
    meta: MetaWorkspace, clock: ManualClock
) -> None:
    message_id, agent = await reply_with_lost_answer(meta, "whatsapp", WAMID)
    meta.runtime.settings.outbound_timeout_seconds = 10

    # A worker hangs on Meta past its lease, as one killed mid-send would leave the job.
    stuck = asyncio.create_task(meta.deliver())
    for _ in range(200):
        if meta.graph.accepted:
            break
        await asyncio.sleep(0.01)
    clock.advance(POLICY.lease + timedelta(seconds=1))
    second = await meta.deliver()
    assert (second.claimed, second.unconfirmed) == (1, 1)
    assert len(meta.graph.sends()) == 1

    meta.graph.release.set()  # Meta's answer reaches the first worker after all
    first = await stuck
    assert first.sent == 1
    shown = await meta.shown(agent, message_id)
    assert (shown["delivery_status"], shown["provider_message_id"]) == ("sent", WAMID)
    await assert_not_sent_again(meta, clock, POLICY.report_wait * 2)


async def test_a_messenger_send_answered_too_late_is_settled_by_its_echo(
    meta: MetaWorkspace, clock: ManualClock
) -> None:
    message_id, agent = await reply_with_lost_answer(meta, "messenger", MID)
    assert (await meta.deliver()).unconfirmed == 1
    [(sent_body, given_id)] = meta.graph.accepted
    assert given_id == MID

    # Meta's message_echoes webhook: our page's message, with the metadata we sent.
    echo = json.loads(fixture_bytes("messenger", "echo.json"))
    event = echo["entry"][0]["messaging"][0]
    event["recipient"]["id"] = PSID
    event["message"].update(
        mid=MID, text=sent_body["message"]["text"], metadata=sent_body["message"]["metadata"]
    )
    response = await meta.post("messenger", json.dumps(echo).encode())
    assert response.status_code == 200, response.text

    shown = await meta.shown(agent, message_id)
    assert (shown["delivery_status"], shown["provider_message_id"]) == ("sent", MID)
    assert (await outbound_job(meta.runtime, message_id)).status == "done"
    # The echo is not a customer message.
    assert len(await meta.messages()) == 2
    await assert_not_sent_again(meta, clock, timedelta(hours=1))
