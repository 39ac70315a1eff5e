"""An agent who is deactivated leaves no work stranded: their open conversations and pending
offers go back to the queue, to the next agent at once in auto mode, with the reason kept."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import WorkspaceFixture, login
from tests.support.routing import (
    add_agent,
    arrive,
    assignee_of,
    history,
    load_of,
    offers_of,
    presence_of,
    set_mode,
    set_steps,
)
from threadline.bootstrap import Runtime
from threadline.domain.channels import Channel

pytestmark = pytest.mark.anyio


async def _deactivate(client: httpx.AsyncClient, ws: WorkspaceFixture, agent_id: int) -> None:
    admin = await login(client, ws.slug, "admin")
    answer = await client.patch(f"/api/v1/agents/{agent_id}", headers=admin, json={"active": False})
    assert answer.status_code == 200, answer.text


async def test_a_deactivated_agents_chats_go_to_the_next_agent_with_the_reason(
    runtime: Runtime, workspace: WorkspaceFixture, client: httpx.AsyncClient
) -> None:
    ws, chat = workspace.id, workspace.inboxes["web_chat"]
    await set_mode(runtime, ws, "auto")
    ola = await add_agent(runtime, ws, "Ola Leaving", competences={"web_chat": 9})
    piotr = await add_agent(runtime, ws, "Piotr Staying", competences={"web_chat": 5})
    first = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "v-1")
    second = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "v-2")
    assert {await assignee_of(runtime, c) for c in (first, second)} == {ola}

    await _deactivate(client, workspace, ola)

    assert [await assignee_of(runtime, c) for c in (first, second)] == [piotr, piotr]
    for conversation in (first, second):
        *earlier, now = await history(runtime, conversation)
        assert [row.agent_id for row in earlier] == [ola]
        assert earlier[0].released_at is not None
        assert now.agent_id == piotr and "Ola Leaving was deactivated" in now.reason
    assert await load_of(runtime, ola) == 0
    assert await presence_of(runtime, ola) == "offline"


async def test_a_deactivated_agents_offer_is_withdrawn_and_offered_to_someone_else(
    runtime: Runtime, workspace: WorkspaceFixture, client: httpx.AsyncClient
) -> None:
    ws, chat = workspace.id, workspace.inboxes["web_chat"]
    await set_steps(runtime, ws, offer_mode=True, offer_timeout_seconds=30, max_missed_offers=2)
    ola = await add_agent(runtime, ws, "Ola Leaving", competences={"web_chat": 9})
    piotr = await add_agent(runtime, ws, "Piotr Staying", competences={"web_chat": 5})
    offered = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "v-1")
    assert await offers_of(runtime, offered) == [(ola, "pending")]

    await _deactivate(client, workspace, ola)

    assert await offers_of(runtime, offered) == [(ola, "withdrawn"), (piotr, "pending")]
    assert await load_of(runtime, ola) == 0


async def test_in_manual_mode_a_deactivated_agents_work_waits_unassigned(
    runtime: Runtime, workspace: WorkspaceFixture, client: httpx.AsyncClient
) -> None:
    ws, chat = workspace.id, workspace.inboxes["web_chat"]
    await set_mode(runtime, ws, "auto")
    ola = await add_agent(runtime, ws, "Ola Leaving", competences={"web_chat": 9})
    conversation = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "v-1")
    assert await assignee_of(runtime, conversation) == ola
    await set_mode(runtime, ws, "manual")

    await _deactivate(client, workspace, ola)

    assert await assignee_of(runtime, conversation) is None
    [row] = await history(runtime, conversation)
    assert row.released_at is not None
