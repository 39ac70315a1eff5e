"""Helpers for routing tests: agents with profiles, messages arriving, resolving, settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.content.wrap_up_codes import WrapUp
from threadline.conversations.actions import change_status
from threadline.conversations.receive import receive_message
from threadline.domain.agent_profile import Presence
from threadline.domain.channels import IDENTITY_FOR_CHANNEL, Channel
from threadline.domain.conversations import ConversationStatus
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.domain.security.access import Principal, Role
from threadline.workspace.agents import update_agent
from threadline.workspace.create import create_agent, create_inbox


def admin_of(workspace_id: int) -> Principal:
    return Principal(workspace_id=workspace_id, role=Role.ADMIN, agent_id=None)


async def skill_inbox(
    runtime: Runtime,
    workspace_id: int,
    name: str,
    channel: Channel,
    required_skills: dict[str, int],
    team_id: int | None = None,
) -> int:
    """An inbox whose conversations go only to agents with these skills; its id."""
    async with runtime.uow() as uow:
        inbox = await create_inbox(
            uow,
            workspace_id,
            name=name,
            channel=channel,
            settings={"routing": {"required_skills": required_skills}},
        )
        inbox.team_id = team_id
        await uow.commit()
        return inbox.id


async def add_agent(
    runtime: Runtime,
    workspace_id: int,
    name: str,
    *,
    skills: dict[str, int] | None = None,
    competences: dict[str, int] | None = None,
    capacity: dict[str, Any] | None = None,
    online: bool = True,
) -> int:
    async with runtime.uow() as uow:
        agent = await create_agent(
            uow,
            workspace_id,
            email=f"{name.split()[0].lower()}@routing.example.com",
            name=name,
            role=Role.AGENT,
            skills=skills or {},
            channel_competences=competences or {},
            capacity=capacity,
        )
        agent.presence = Presence.ONLINE.value if online else Presence.OFFLINE.value
        await uow.commit()
        return agent.id


async def set_mode(
    runtime: Runtime, workspace_id: int, mode: str, steps: dict[str, Any] | None = None
) -> None:
    """The workspace's routing mode; `steps` None keeps the stored routing steps."""
    async with runtime.uow() as uow:
        row = await uow.session.get(t.RoutingSettings, workspace_id)
        if row is None:
            row = t.RoutingSettings(workspace_id=workspace_id, weights={})
            uow.session.add(row)
        row.mode = mode
        if steps is not None:
            row.steps = steps
        row.updated_at = uow.clock.now()
        await uow.commit()


async def set_presence(runtime: Runtime, workspace_id: int, agent_id: int, online: bool) -> None:
    presence = Presence.ONLINE if online else Presence.AWAY
    async with runtime.uow() as uow:
        await update_agent(uow, admin_of(workspace_id), agent_id, {"presence": presence.value})
        await uow.commit()


async def arrive(
    runtime: Runtime, workspace_id: int, inbox_id: int, channel: Channel, sender: str
) -> int:
    """A customer writes in; returns the conversation id."""
    received = await receive_message(
        runtime.uow,
        workspace_id,
        InboundMessage(
            inbox_id=inbox_id,
            sender=SenderIdentity(IDENTITY_FOR_CHANNEL[channel], sender),
            channel=channel,
            text="hello, I need help",
        ),
    )
    return received.conversation_id


async def resolve(runtime: Runtime, workspace_id: int, conversation_id: int) -> None:
    async with runtime.uow() as uow:
        await change_status(
            uow,
            admin_of(workspace_id),
            conversation_id,
            ConversationStatus.RESOLVED,
            wrap_up=WrapUp("solved", "helped the customer"),
        )
        await uow.commit()


async def assignee_of(runtime: Runtime, conversation_id: int) -> int | None:
    async with runtime.uow() as uow:
        conversation = await uow.session.get(t.Conversation, conversation_id)
        assert conversation is not None
        return conversation.assignee_id


async def history(runtime: Runtime, conversation_id: int) -> list[t.Assignment]:
    async with runtime.uow() as uow:
        rows = await uow.session.execute(
            select(t.Assignment)
            .where(t.Assignment.conversation_id == conversation_id)
            .order_by(t.Assignment.id)
        )
        found = list(rows.scalars())
        uow.session.expunge_all()  # keep them readable after the read-only session ends
        return found


async def make_team(runtime: Runtime, workspace_id: int, name: str, members: list[int]) -> int:
    from threadline.workspace.teams import create_team, set_members

    async with runtime.uow() as uow:
        team = await create_team(uow, admin_of(workspace_id), name)
        await set_members(uow, admin_of(workspace_id), team.id, members)
        await uow.commit()
        return team.id


async def set_steps(runtime: Runtime, workspace_id: int, **steps: Any) -> None:
    """Auto mode with these routing steps (the rest default)."""
    await set_mode(runtime, workspace_id, "auto", dict(steps))


async def presence_of(runtime: Runtime, agent_id: int) -> str:
    async with runtime.uow() as uow:
        agent = await uow.session.get(t.Agent, agent_id)
        assert agent is not None
        return agent.presence


async def offers_of(runtime: Runtime, conversation_id: int) -> list[tuple[int, str]]:
    """(agent, status) of each offer made for the conversation, oldest first."""
    async with runtime.uow() as uow:
        rows = await uow.session.execute(
            select(t.RoutingOffer.agent_id, t.RoutingOffer.status)
            .where(t.RoutingOffer.conversation_id == conversation_id)
            .order_by(t.RoutingOffer.id)
        )
        return [(agent, status) for agent, status in rows]


async def pending_offer_id(runtime: Runtime, conversation_id: int) -> int:
    async with runtime.uow() as uow:
        return int(
            (
                await uow.session.execute(
                    select(t.RoutingOffer.id).where(
                        t.RoutingOffer.conversation_id == conversation_id,
                        t.RoutingOffer.status == "pending",
                    )
                )
            ).scalar_one()
        )


async def load_of(runtime: Runtime, agent_id: int) -> int:
    async with runtime.uow() as uow:
        row = await uow.session.get(t.AgentLoad, agent_id)
        return row.load if row is not None else 0


async def add_handled_history(
    runtime: Runtime, workspace_id: int, agent_id: int, channel: Channel, spans: list[timedelta]
) -> None:
    """Past matters on `channel`, each assigned for one of `spans` and finished before now:
    the history wait estimates are read from, stored directly (one customer, bulk inserts)."""
    now = runtime.clock.now()
    async with runtime.sessionmaker() as session, session.begin():
        customer = t.Customer(
            workspace_id=workspace_id, name="Past customer", created_at=now, updated_at=now
        )
        session.add(customer)
        await session.flush()
        conversations = []
        for number, span in enumerate(spans, start=1):
            released = now - timedelta(hours=number)
            conversations.append(
                t.Conversation(
                    workspace_id=workspace_id,
                    customer_id=customer.id,
                    status=ConversationStatus.RESOLVED.value,
                    last_inbound_channel=channel.value,
                    last_inbound_at=released - span,
                    last_message_at=released,
                    created_at=released - span,
                    resolved_at=released,
                )
            )
        session.add_all(conversations)
        await session.flush()
        session.add_all(
            t.Assignment(
                workspace_id=workspace_id,
                conversation_id=c.id,
                agent_id=agent_id,
                channel=channel.value,
                cost=0,
                assigned_at=c.created_at,
                released_at=c.resolved_at,
                reason="history",
                mode="manual",
            )
            for c in conversations
        )
