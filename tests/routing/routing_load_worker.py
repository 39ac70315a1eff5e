"""One process of the routing concurrency test: random arrive / route / finish / presence
events against the database in THREADLINE_DATABASE_URL, several at a time.

Usage: python -m tests.routing.routing_load_worker WORKSPACE_ID EVENTS SEED CONCURRENCY
Prints one JSON line with what it did.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime, build_runtime
from threadline.config import Settings
from threadline.content.wrap_up_codes import WrapUp
from threadline.conversations.actions import change_status
from threadline.conversations.receive import receive_message
from threadline.domain.channels import IDENTITY_FOR_CHANNEL, Channel
from threadline.domain.conversations import ConversationStatus
from threadline.domain.errors import DomainError
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.domain.security.access import Principal, Role
from threadline.entrypoints.logging_setup import configure_logging
from threadline.routing import route_conversation
from threadline.workspace.agents import update_agent

CHANNELS = (Channel.WEB_CHAT, Channel.EMAIL, Channel.WHATSAPP, Channel.SMS, Channel.VOICE)
CUSTOMERS = 400
RETRIES = 10


async def _random_conversation(runtime: Runtime, ws: int, assigned: bool) -> int | None:
    async with runtime.sessionmaker() as session:
        condition = (
            t.Conversation.assignee_id.is_not(None)
            if assigned
            else t.Conversation.assignee_id.is_(None)
        )
        return (
            await session.execute(
                select(t.Conversation.id)
                .where(
                    t.Conversation.workspace_id == ws, t.Conversation.status == "open", condition
                )
                .order_by(func.random())
                .limit(1)
            )
        ).scalar_one_or_none()


async def _event(
    runtime: Runtime,
    ws: int,
    rng: random.Random,
    inboxes: dict[str, int],
    agents: list[int],
    admin: Principal,
) -> str:
    roll = rng.random()
    if roll < 0.45:
        channel = rng.choice(CHANNELS)
        number = rng.randrange(CUSTOMERS)
        sender = {
            Channel.WEB_CHAT: f"visitor-{number}",
            Channel.EMAIL: f"customer{number}@example.com",
        }.get(channel, f"+4812345{number:04d}")
        await receive_message(
            runtime.uow,
            ws,
            InboundMessage(
                inbox_id=inboxes[channel.value],
                sender=SenderIdentity(IDENTITY_FOR_CHANNEL[channel], sender),
                channel=channel,
                text="hello",
            ),
        )
        return "arrive"
    if roll < 0.60:
        conversation_id = await _random_conversation(runtime, ws, assigned=False)
        if conversation_id is None:
            return "route-none"
        async with runtime.uow() as uow:
            await route_conversation(uow, ws, conversation_id)
            await uow.commit()
        return "route"
    if roll < 0.90:
        conversation_id = await _random_conversation(runtime, ws, assigned=True)
        if conversation_id is None:
            return "finish-none"
        async with runtime.uow() as uow:
            await change_status(
                uow,
                admin,
                conversation_id,
                ConversationStatus.RESOLVED,
                wrap_up=WrapUp("solved", "done"),
            )
            await uow.commit()
        return "finish"
    agent_id = rng.choice(agents)
    presence = "online" if rng.random() < 0.7 else "away"
    async with runtime.uow() as uow:
        await update_agent(uow, admin, agent_id, {"presence": presence})
        await uow.commit()
    return "presence"


async def main(ws: int, events: int, seed: int, concurrency: int) -> None:
    # Quiet, as a production worker: unconfigured structlog prints every debug line to
    # stdout, and a full stdout pipe stalls this process until the test reads it.
    configure_logging(Settings(log_level="WARNING"))
    runtime = build_runtime(Settings())
    counts: Counter[str] = Counter()
    admin = Principal(workspace_id=ws, role=Role.ADMIN, agent_id=None)
    async with runtime.sessionmaker() as session:
        inboxes = {
            channel: inbox_id
            for inbox_id, channel in await session.execute(
                select(t.Inbox.id, t.Inbox.channel).where(t.Inbox.workspace_id == ws)
            )
        }
        agents = list(
            (
                await session.execute(
                    select(t.Agent.id).where(t.Agent.workspace_id == ws, t.Agent.role == "agent")
                )
            ).scalars()
        )
    remaining = events

    async def loop(lane: int) -> None:
        nonlocal remaining
        rng = random.Random(seed * 1000 + lane)
        while remaining > 0:
            remaining -= 1
            for _attempt in range(RETRIES):
                try:
                    counts[await _event(runtime, ws, rng, inboxes, agents, admin)] += 1
                    break
                except (IntegrityError, DBAPIError) as exc:
                    # Deadlock victims and lost unique races are retried, as callers would.
                    counts[f"retry:{type(exc.orig).__name__}"] += 1
                except DomainError as exc:
                    counts[f"refused:{type(exc).__name__}"] += 1
                    break

    started = time.monotonic()
    await asyncio.gather(*(loop(lane) for lane in range(concurrency)))
    elapsed = time.monotonic() - started
    await runtime.close()
    print(json.dumps({"events": events, "seconds": elapsed, "counts": dict(counts)}))


if __name__ == "__main__":
    asyncio.run(main(*(int(arg) for arg in sys.argv[1:5])))
