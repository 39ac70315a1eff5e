"""Twilio voice: every callback of a call makes one call entry; a missed inbound call plans
one callback task, due in an hour (or as the inbox says)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import WorkspaceFixture
from tests.support.cti import calls, due_after, tasks
from tests.support.twilio import (
    CUSTOMER_NUMBER,
    configure_twilio_inbox,
    fixture_pairs,
    post_signed,
)
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime

pytestmark = pytest.mark.anyio

CALL_SID = "CA5c9b4b0e1a2d3f4e5a6b7c8d9e0f1a2b"
RECORDING_URL = (
    "https://api.twilio.com/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/"
    "Recordings/RE557ce644e5ab84fa21cc21112e22c485"
)


@pytest.fixture
async def voice_inbox(runtime: Runtime, workspace: WorkspaceFixture) -> int:
    inbox_id = workspace.inboxes["voice"]
    await configure_twilio_inbox(runtime, inbox_id)
    return inbox_id


async def events(runtime: Runtime, kind: str) -> list[dict[str, object]]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(t.Event.payload).where(t.Event.type == kind).order_by(t.Event.seq)
        )
        return list(rows.scalars())


async def callback(
    client: httpx.AsyncClient, inbox_id: int, endpoint: str, fixture: str, **extra: str
) -> httpx.Response:
    pairs = fixture_pairs(fixture, CALL_SID=CALL_SID)
    pairs = [(k, v) for k, v in pairs if k not in extra] + list(extra.items())
    response = await post_signed(client, f"/webhooks/twilio/{inbox_id}/{endpoint}", pairs)
    assert response.status_code == 200, response.text
    return response


async def test_incoming_call_fixture_is_recorded_and_answered_with_voicemail_twiml(
    runtime: Runtime, client: httpx.AsyncClient, voice_inbox: int
) -> None:
    response = await callback(client, voice_inbox, "voice", "voice_inbound.form")

    assert response.headers["content-type"].startswith("application/xml")
    assert "<Say>Thank you for calling." in response.text
    assert (
        f'<Record action="http://threadline.test/webhooks/twilio/{voice_inbox}'
        '/recording?kind=voicemail"' in response.text
    )
    [entry] = await calls(runtime)
    assert entry.provider_message_id == CALL_SID
    assert entry.sender_identity == CUSTOMER_NUMBER
    assert entry.call is not None
    assert entry.call["direction"] == "inbound" and entry.call["status"] == "ringing"
    assert entry.call["from"] == CUSTOMER_NUMBER and entry.call["outcome"] is None


async def test_voice_answer_can_enqueue_or_dial(
    runtime: Runtime, client: httpx.AsyncClient, voice_inbox: int
) -> None:
    await configure_twilio_inbox(runtime, voice_inbox, voice={"mode": "enqueue", "queue": "vip"})
    enqueue = await callback(client, voice_inbox, "voice", "voice_inbound.form")
    assert ">vip</Enqueue>" in enqueue.text and "/voice-status" in enqueue.text

    await configure_twilio_inbox(
        runtime, voice_inbox, voice={"mode": "dial", "number": "+48221234567"}
    )
    dial = await callback(client, voice_inbox, "voice", "voice_inbound.form")
    assert (
        '<Dial action="http://threadline.test/' in dial.text and "+48221234567</Dial>" in dial.text
    )
    assert len(await calls(runtime)) == 1


@pytest.mark.parametrize(
    ("fixture", "status", "outcome", "callback_task"),
    [
        ("call_status_ringing.form", "ringing", None, False),
        ("call_status_in-progress.form", "in-progress", None, False),
        ("call_status_completed.form", "completed", "answered", False),
        ("call_status_busy.form", "busy", "missed", True),
        ("call_status_no-answer.form", "no-answer", "missed", True),
        ("call_status_failed.form", "failed", "missed", True),
        ("call_status_canceled.form", "canceled", "missed", True),
    ],
)
async def test_call_status_fixture(
    runtime: Runtime,
    client: httpx.AsyncClient,
    voice_inbox: int,
    fixture: str,
    status: str,
    outcome: str | None,
    callback_task: bool,
) -> None:
    await callback(client, voice_inbox, "voice-status", fixture)

    [entry] = await calls(runtime)
    assert entry.call is not None
    assert entry.call["status"] == status and entry.call["outcome"] == outcome
    assert len(await tasks(runtime)) == (1 if callback_task else 0)


async def test_missed_call_creates_one_callback_task_due_in_an_hour(
    runtime: Runtime, client: httpx.AsyncClient, voice_inbox: int, clock: ManualClock
) -> None:
    await callback(client, voice_inbox, "voice", "voice_inbound.form")
    await callback(client, voice_inbox, "voice-status", "call_status_no-answer.form")
    # Twilio retries a callback it thinks failed: still one task.
    await callback(client, voice_inbox, "voice-status", "call_status_no-answer.form")

    [entry] = await calls(runtime)
    assert entry.call is not None and entry.call["outcome"] == "missed"
    assert entry.text == f"Missed call from {CUSTOMER_NUMBER}"
    [task] = await tasks(runtime)
    assert task.kind == "callback" and task.channel == "voice" and task.status == "open"
    assert task.conversation_id == entry.conversation_id
    assert due_after(task, clock.now()) == timedelta(hours=1)
    assert CUSTOMER_NUMBER in task.title
    [created] = await events(runtime, "task.created")
    assert created["task"]["kind"] == "callback"  # type: ignore[index]


async def test_callback_due_time_is_configurable_per_inbox(
    runtime: Runtime, client: httpx.AsyncClient, voice_inbox: int, clock: ManualClock
) -> None:
    await configure_twilio_inbox(runtime, voice_inbox, callback_due_minutes=15)
    await callback(client, voice_inbox, "voice-status", "call_status_busy.form")
    [task] = await tasks(runtime)
    assert due_after(task, clock.now()) == timedelta(minutes=15)


async def test_full_sequence_of_an_answered_call_is_one_entry_with_duration_and_recording(
    runtime: Runtime, client: httpx.AsyncClient, voice_inbox: int
) -> None:
    await configure_twilio_inbox(runtime, voice_inbox, voice={"mode": "enqueue"})
    await callback(client, voice_inbox, "voice", "voice_inbound.form")
    await callback(client, voice_inbox, "voice-status", "call_status_ringing.form")
    await callback(client, voice_inbox, "voice-status", "call_status_in-progress.form")
    # The <Enqueue> action: an agent took the call from the queue.
    await callback(
        client, voice_inbox, "voice-status", "call_status_in-progress.form", QueueResult="bridged"
    )
    await callback(client, voice_inbox, "voice-status", "call_status_completed.form")
    await callback(
        client,
        voice_inbox,
        "recording",
        "recording_completed.form",
        RecordingSource="DialVerb",
    )
    # A late, out-of-order "ringing" does not move the call back.
    await callback(client, voice_inbox, "voice-status", "call_status_ringing.form")

    [entry] = await calls(runtime)
    assert entry.call is not None
    assert entry.call["status"] == "completed"
    assert entry.call["outcome"] == "answered"
    assert entry.call["duration_seconds"] == 125
    assert entry.call["recording_url"] == RECORDING_URL
    assert entry.text == f"Call from {CUSTOMER_NUMBER} (2 min 5 s)"
    assert await tasks(runtime) == []
    updates = await events(runtime, "message.updated")
    assert updates and all(u["conversation"]["id"] == entry.conversation_id for u in updates)  # type: ignore[index]


async def test_voicemail_recording_fixture_makes_the_call_a_voicemail_with_a_callback(
    runtime: Runtime, client: httpx.AsyncClient, voice_inbox: int
) -> None:
    await callback(client, voice_inbox, "voice", "voice_inbound.form")
    await callback(client, voice_inbox, "voice-status", "call_status_completed.form")
    await callback(client, voice_inbox, "recording", "recording_completed.form")

    [entry] = await calls(runtime)
    assert entry.call is not None
    assert entry.call["outcome"] == "voicemail"
    assert entry.call["recording_url"] == RECORDING_URL
    assert entry.call["recording_duration_seconds"] == 14
    [task] = await tasks(runtime)
    assert task.kind == "callback"


# (endpoint, fixture, fields that override the fixture's) of each callback, in order.
Callbacks = list[tuple[str, str, dict[str, str]]]


@pytest.mark.parametrize(
    "sequence",
    [
        pytest.param(
            [
                ("voice", "voice_inbound.form", {}),
                ("voice-status", "call_status_in-progress.form", {}),
                ("voice-status", "call_status_completed.form", {}),
            ],
            id="caller_hanging_up_on_the_voicemail_prompt",
        ),
        pytest.param(
            [
                ("voice", "voice_inbound.form", {}),
                ("voice-status", "call_status_completed.form", {"QueueResult": "hangup"}),
            ],
            id="hang_up_in_the_queue",
        ),
        pytest.param(
            [("voice-status", "call_status_in-progress.form", {"DialCallStatus": "no-answer"})],
            id="unanswered_dial",
        ),
    ],
)
async def test_a_call_nobody_took_is_a_missed_call_with_a_callback_task(
    runtime: Runtime, client: httpx.AsyncClient, voice_inbox: int, sequence: Callbacks
) -> None:
    for endpoint, fixture, fields in sequence:
        await callback(client, voice_inbox, endpoint, fixture, **fields)
    [entry] = await calls(runtime)
    assert entry.call is not None and entry.call["outcome"] == "missed"
    assert len(await tasks(runtime)) == 1


async def test_malformed_call_callback_is_400_with_the_reason(
    runtime: Runtime, client: httpx.AsyncClient, voice_inbox: int
) -> None:
    pairs = [(k, v) for k, v in fixture_pairs("call_status_completed.form", CALL_SID=CALL_SID)]
    bad_status = [(k, "exploded" if k == "CallStatus" else v) for k, v in pairs]
    response = await post_signed(client, f"/webhooks/twilio/{voice_inbox}/voice-status", bad_status)
    assert response.status_code == 400 and "CallStatus" in response.json()["detail"]

    no_sid = [(k, v) for k, v in pairs if k != "CallSid"]
    response = await post_signed(client, f"/webhooks/twilio/{voice_inbox}/voice-status", no_sid)
    assert response.status_code == 400 and "CallSid" in response.json()["detail"]

    orphan = fixture_pairs("recording_completed.form", CALL_SID="CAunknown")
    response = await post_signed(client, f"/webhooks/twilio/{voice_inbox}/recording", orphan)
    assert response.status_code == 422
    assert await calls(runtime) == []


async def test_outbound_call_is_an_outbound_entry_without_callback(
    runtime: Runtime, client: httpx.AsyncClient, voice_inbox: int
) -> None:
    pairs = fixture_pairs("call_status_no-answer.form", CALL_SID=CALL_SID)
    swapped = {"From": "To", "To": "From", "Caller": "Called", "Called": "Caller"}
    outbound = [(swapped.get(k, k), v) for k, v in pairs if k != "Direction"]
    outbound.append(("Direction", "outbound-api"))
    response = await post_signed(client, f"/webhooks/twilio/{voice_inbox}/voice-status", outbound)
    assert response.status_code == 200
    [entry] = await calls(runtime)
    assert entry.direction == "outbound"
    assert entry.call is not None and entry.call["to"] == CUSTOMER_NUMBER
    assert entry.text == f"Missed call to {CUSTOMER_NUMBER}"
    assert await tasks(runtime) == []
