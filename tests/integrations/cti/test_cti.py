"""The generic CTI endpoint: a PBX reports calls as signed JSON, with the same outcome as
Twilio's callbacks: one call entry per call, a callback task for a missed one."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import WorkspaceFixture, customer_writes
from tests.support.cti import calls, due_after, tasks
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.integrations.api.sender import sign

pytestmark = pytest.mark.anyio

SECRET = "pbx-shared-secret-0123456789"
CALLER = "+48501234567"
OUR_LINE = "+48221234567"


@pytest.fixture
async def voice_inbox(runtime: Runtime, workspace: WorkspaceFixture) -> int:
    async with runtime.sessionmaker() as session:
        inbox = await session.get(t.Inbox, workspace.inboxes["voice"])
        assert inbox is not None
        inbox.secret = SECRET
        await session.commit()
    return workspace.inboxes["voice"]


async def post_event(
    client: httpx.AsyncClient,
    inbox_id: int,
    event: str,
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    **fields: Any,
) -> httpx.Response:
    payload = {
        "event": event,
        "call_id": "pbx-call-7781",
        "caller": CALLER,
        "callee": OUR_LINE,
        "direction": "inbound",
        "occurred_at": "2026-11-02T09:00:00Z",
        **fields,
    }
    body = json.dumps(payload).encode()
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    return await client.post(
        f"/webhooks/cti/{inbox_id}",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Threadline-Timestamp": stamp,
            "X-Threadline-Signature": f"v1={sign(secret, stamp, body)}",
        },
    )


async def test_answered_call_is_one_entry_with_duration_and_recording_and_no_task(
    runtime: Runtime, client: httpx.AsyncClient, voice_inbox: int
) -> None:
    sequence: list[tuple[str, dict[str, Any]]] = [
        ("call.started", {}),
        ("call.answered", {}),
        ("call.ended", {"duration_seconds": 312, "recording_url": "https://pbx.example/r/7781"}),
    ]
    for event, extra in sequence:
        response = await post_event(client, voice_inbox, event, **extra)
        assert response.status_code == 200, response.text

    assert response.json()["outcome"] == "answered"
    assert response.json()["created"] is False
    [entry] = await calls(runtime)
    assert entry.call is not None
    assert entry.call["outcome"] == "answered" and entry.call["duration_seconds"] == 312
    assert entry.call["recording_url"] == "https://pbx.example/r/7781"
    assert entry.call["provider"] == "cti"
    assert entry.sender_identity == CALLER
    assert await tasks(runtime) == []


async def test_missed_call_creates_one_callback_task_due_in_an_hour(
    runtime: Runtime, client: httpx.AsyncClient, voice_inbox: int, clock: ManualClock
) -> None:
    await post_event(client, voice_inbox, "call.started")
    first = await post_event(client, voice_inbox, "call.missed")
    again = await post_event(client, voice_inbox, "call.missed")

    assert first.status_code == again.status_code == 200
    assert first.json()["outcome"] == "missed"
    assert first.json()["callback_task_id"] == again.json()["callback_task_id"] is not None
    [task] = await tasks(runtime)
    assert task.kind == "callback" and task.channel == "voice"
    assert due_after(task, clock.now()) == timedelta(hours=1)


async def test_missed_call_with_a_recording_is_a_voicemail(
    runtime: Runtime, client: httpx.AsyncClient, voice_inbox: int
) -> None:
    response = await post_event(
        client, voice_inbox, "call.missed", recording_url="https://pbx.example/vm/1"
    )
    assert response.json()["outcome"] == "voicemail"
    assert len(await tasks(runtime)) == 1


async def test_the_caller_is_the_same_customer_as_on_other_channels(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture, voice_inbox: int
) -> None:
    sms = await customer_writes(
        client, workspace, "sms", "phone", "501 234 567", "I tried calling you"
    )
    call = await post_event(client, voice_inbox, "call.missed")
    assert call.json()["customer_id"] == sms["customer_id"]
    assert call.json()["conversation_id"] == sms["conversation_id"]


@pytest.mark.parametrize("forgery", ["wrong secret", "stale timestamp", "no signature"])
async def test_forged_or_stale_request_is_403_and_nothing_stored(
    runtime: Runtime, client: httpx.AsyncClient, voice_inbox: int, forgery: str
) -> None:
    if forgery == "wrong secret":
        response = await post_event(client, voice_inbox, "call.missed", secret="guess")
    elif forgery == "stale timestamp":
        response = await post_event(
            client, voice_inbox, "call.missed", timestamp=int(time.time()) - 3600
        )
    else:
        response = await client.post(
            f"/webhooks/cti/{voice_inbox}", json={"event": "call.missed", "call_id": "x"}
        )
    assert response.status_code == 403
    assert await calls(runtime) == []


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"event": "call.exploded"}, "event"),
        ({"caller": None}, "caller's number"),
        ({"duration_seconds": -5}, "duration_seconds"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_malformed_event_is_400_with_the_reason(
    runtime: Runtime,
    client: httpx.AsyncClient,
    voice_inbox: int,
    fields: dict[str, Any],
    reason: str,
) -> None:
    fields = dict(fields)  # the parameter dict is shared by the SQLite and PostgreSQL runs
    event = fields.pop("event", "call.started")
    response = await post_event(client, voice_inbox, event, **fields)
    assert response.status_code == 400, response.text
    assert reason in response.json()["detail"]
    assert await calls(runtime) == []
