"""Outbound delivery in tests: an agent's reply queued, one pass of the outbound worker over
what is due, and what the reply and its job say afterwards.

The channels' tests (API app, Twilio SMS, email) and the address checks all drive delivery
this way, so that what "deliver" means is written once.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from tests.conftest import WorkspaceFixture
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.config import Settings
from threadline.conversations.replies import ReplyRequest, reply
from threadline.delivery.outbound import DeliveryPolicy, DeliveryReport, deliver_due
from threadline.domain.channels import Channel
from threadline.domain.security.access import Principal, Role
from threadline.integrations.senders import build_outbound_adapters

# Short enough that a test can step past a backoff with the manual clock.
POLICY = DeliveryPolicy(lease=timedelta(seconds=60), max_attempts=3, backoff_seconds=10)


async def agent_replies(
    runtime: Runtime,
    ws: WorkspaceFixture,
    conversation_id: int,
    text: str,
    channel: Channel | None = None,
) -> int:
    """The workspace's agent replies (on `channel`, or the conversation's own); the id of the
    queued reply."""
    principal = Principal(workspace_id=ws.id, role=Role.AGENT, agent_id=ws.agent_id)
    async with runtime.uow() as uow:
        message = await reply(uow, principal, ReplyRequest(conversation_id, text, channel=channel))
        await uow.commit()
    return message.id


async def deliver(
    runtime: Runtime,
    policy: DeliveryPolicy = POLICY,
    *,
    settings: Settings | None = None,
    http: httpx.AsyncClient | None = None,
) -> DeliveryReport:
    """One pass of the outbound worker over the jobs due now. Without `http` each adapter
    opens its own checked client, as the worker does; `settings` stand in for the runtime's."""
    adapters = build_outbound_adapters(settings or runtime.settings, http)
    return await deliver_due(runtime.uow, adapters, policy, runtime.clock.now())


async def deliver_over_one_client(runtime: Runtime) -> DeliveryReport:
    """One pass with every adapter sharing one plain HTTP client, as the provider tests that
    talk to a local stand-in on loopback do."""
    async with httpx.AsyncClient() as http:
        return await deliver(runtime, http=http)


async def message_and_job(runtime: Runtime, message_id: int) -> tuple[t.Message, t.OutboundJob]:
    """The reply as stored, and the outbound job that sends it."""
    async with runtime.sessionmaker() as session:
        message = await session.get(t.Message, message_id)
        job = (
            await session.execute(
                select(t.OutboundJob).where(t.OutboundJob.message_id == message_id)
            )
        ).scalar_one()
        assert message is not None
        return message, job
