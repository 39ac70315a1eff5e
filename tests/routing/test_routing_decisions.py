"""The console's routing reads: the latest routing decisions of a workspace with their
explanations (assignments and offers, newest first, never another workspace's, not for
agents), and the teams with their own routing steps."""

from __future__ import annotations

import pytest

from tests.conftest import WorkspaceFixture
from tests.support.routing import add_agent, admin_of, arrive, make_team, set_mode, set_steps
from threadline.bootstrap import Runtime
from threadline.domain.channels import Channel
from threadline.domain.errors import Forbidden
from threadline.domain.security.access import Principal, Role
from threadline.routing import list_team_routing, put_team_routing, recent_decisions

pytestmark = pytest.mark.anyio


async def test_recent_decisions_are_the_workspaces_own_newest_first_with_why(
    runtime: Runtime, workspace: WorkspaceFixture, other_workspace: WorkspaceFixture
) -> None:
    ws, chat = workspace.id, workspace.inboxes["web_chat"]
    await set_mode(runtime, ws, "auto")
    ola = await add_agent(runtime, ws, "Ola Chat", competences={"web_chat": 8})
    first = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "v-1")
    second = await arrive(runtime, ws, chat, Channel.WEB_CHAT, "v-2")
    other = other_workspace.id
    await set_steps(runtime, other, offer_mode=True, offer_timeout_seconds=30)
    piotr = await add_agent(runtime, other, "Piotr Elsewhere", competences={"web_chat": 8})
    offered = await arrive(
        runtime, other, other_workspace.inboxes["web_chat"], Channel.WEB_CHAT, "v-3"
    )

    async with runtime.sessionmaker() as session:
        ours = await recent_decisions(session, admin_of(ws))
        theirs = await recent_decisions(session, admin_of(other))
        only_latest = await recent_decisions(session, admin_of(ws), limit=1)
        with pytest.raises(Forbidden):
            await recent_decisions(
                session, Principal(workspace_id=ws, role=Role.AGENT, agent_id=ola)
            )
    assert [(d["conversation_id"], d["kind"], d["agent_id"]) for d in ours] == [
        (second, "assigned", ola),
        (first, "assigned", ola),
    ]
    assert all(d["reason"] and d["agent_name"] == "Ola Chat" for d in ours)
    assert [(d["conversation_id"], d["kind"], d["agent_id"], d["detail"]) for d in theirs] == [
        (offered, "offered", piotr, "pending")
    ]
    assert [d["conversation_id"] for d in only_latest] == [second]


async def test_teams_show_their_own_steps_or_none_for_the_workspaces(
    runtime: Runtime, workspace: WorkspaceFixture, other_workspace: WorkspaceFixture
) -> None:
    ws = workspace.id
    night = await make_team(runtime, ws, "Night shift", [])
    await make_team(runtime, ws, "Day shift", [])
    await make_team(runtime, other_workspace.id, "Elsewhere", [])
    async with runtime.uow() as uow:
        await put_team_routing(uow, admin_of(ws), night, {}, {"sticky_wait_seconds": 0})
        await uow.commit()
    async with runtime.sessionmaker() as session:
        teams = await list_team_routing(session, admin_of(ws))
    assert [(team["name"], team["steps"]) for team in teams] == [
        ("Day shift", {}),
        ("Night shift", {"sticky_wait_seconds": 0}),
    ]
