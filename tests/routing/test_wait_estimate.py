"""A waiting customer's estimated wait comes from their own channel's recent history: emails
held for days do not make a chat visitor wait "303 min", and with too little history (or a
figure beyond reason) nothing is said at all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import WorkspaceFixture, login
from tests.support.api_v1 import get_object
from tests.support.routing import add_agent, add_handled_history, arrive
from tests.support.widget import widget_key
from threadline.bootstrap import Runtime
from threadline.domain.channels import Channel
from threadline.domain.routing.wait_estimate import MIN_SAMPLES, estimate_wait
from threadline.entrypoints.widget import visitor_api
from threadline.entrypoints.widget._texts import TEXTS

pytestmark = pytest.mark.anyio

CHAT_MINUTES = [3, 4, 4, 5, 30, 4]  # one chat left open over lunch: the median ignores it
EMAIL_DAYS = [2, 3, 1, 2, 4, 2]


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    visitor_api._limiter._hits.clear()


async def visitor_waiting(
    client: httpx.AsyncClient, runtime: Runtime, ws: WorkspaceFixture
) -> dict[str, Any]:
    key = await widget_key(runtime, ws)
    session = (await client.post("/api/v1/widget/session", json={"inbox": key})).json()
    token = {"X-Visitor-Token": session["token"]}
    sent = await client.post("/api/v1/widget/messages", json={"text": "Hello?"}, headers=token)
    assert sent.status_code == 201, sent.text
    status = await client.get("/api/v1/widget/status", headers=token)
    assert status.status_code == 200, status.text
    return {"conversation_id": sent.json()["conversation_id"], "queue": status.json()["queue"]}


async def olga_online_with_history(
    runtime: Runtime, ws: int, chat_durations: list[timedelta]
) -> int:
    """Olga online, having handled emails over EMAIL_DAYS and chats for `chat_durations`."""
    olga = await add_agent(runtime, ws, "Olga Online")
    await add_handled_history(
        runtime, ws, olga, Channel.EMAIL, [timedelta(days=d) for d in EMAIL_DAYS]
    )
    await add_handled_history(runtime, ws, olga, Channel.WEB_CHAT, chat_durations)
    return olga


async def queue_position(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int
) -> dict[str, Any]:
    return await get_object(
        client, f"/api/v1/conversations/{conversation_id}/queue-position", headers
    )


async def test_a_chat_visitor_is_told_minutes_when_emails_take_days(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    ws = workspace.id
    await olga_online_with_history(runtime, ws, [timedelta(minutes=m) for m in CHAT_MINUTES])

    chat = await visitor_waiting(client, runtime, workspace)

    # First in the queue, one agent online, chats take 4 minutes (the median): 4 minutes.
    assert chat["queue"]["waiting"] is True and chat["queue"]["position"] == 1
    assert chat["queue"]["estimated_wait_seconds"] == 4 * 60
    agent = await login(client, workspace.slug, "agent")
    place = await queue_position(client, agent, chat["conversation_id"])
    assert (place["estimated_wait_seconds"], place["typical_handling_seconds"]) == (240, 240)
    assert place["handling_samples"] == len(CHAT_MINUTES)

    # An email waiting behind days of email work: two days and more is beyond saying.
    email = await arrive(runtime, ws, workspace.inboxes["email"], Channel.EMAIL, "a@example.com")
    place = await queue_position(client, agent, email)
    assert place["waiting"] is True and place["typical_handling_seconds"] == 2 * 86400
    assert place["estimated_wait_seconds"] is None


async def test_without_chat_history_a_chat_visitor_gets_no_estimate(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    ws = workspace.id
    # Plenty of email history, and fewer chats than the minimum: still nothing to say.
    await olga_online_with_history(runtime, ws, [timedelta(minutes=4)] * (MIN_SAMPLES - 1))

    chat = await visitor_waiting(client, runtime, workspace)

    assert chat["queue"]["waiting"] is True and chat["queue"]["position"] == 1
    assert chat["queue"]["estimated_wait_seconds"] is None
    agent = await login(client, workspace.slug, "agent")
    place = await queue_position(client, agent, chat["conversation_id"])
    assert place["estimated_wait_seconds"] is None and place["typical_handling_seconds"] is None
    # The frame has a sentence for that: the place alone, no minutes.
    for texts in TEXTS.values():
        assert (
            "{position}" in texts["queue_position"] and "{minutes}" not in texts["queue_position"]
        )


def test_the_estimate_is_capped_and_needs_someone_online() -> None:
    minutes = [timedelta(minutes=m) for m in (10, 12, 12, 14, 15)]
    assert estimate_wait(Channel.WEB_CHAT, 3, 2, minutes).wait == timedelta(minutes=18)
    # Twelve in the queue with one agent: over the hour a chat visitor would wait, so nothing.
    assert estimate_wait(Channel.WEB_CHAT, 12, 1, minutes).wait is None
    # The same history says 2 h 24 min for an email: within what an email customer may wait.
    assert estimate_wait(Channel.EMAIL, 12, 1, minutes).wait == timedelta(minutes=144)
    assert estimate_wait(Channel.WEB_CHAT, 1, 0, minutes).wait is None
