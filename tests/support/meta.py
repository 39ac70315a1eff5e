"""Helpers for WhatsApp and Messenger tests: configured inboxes, signed webhook posts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from tests.conftest import WorkspaceFixture
from tests.support.fixtures import load_fixture
from tests.support.inboxes import set_inbox
from tests.support.meta_graph import ACCESS_TOKEN, VERSION, GraphServer
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.delivery.outbound import DeliveryPolicy, DeliveryReport, deliver_due
from threadline.domain.channels import Channel
from threadline.integrations.meta.signature import HEADER, sign
from threadline.integrations.senders import build_outbound_adapters
from threadline.workspace.create import create_inbox

APP_SECRET = "meta-app-secret-0123456789abcdef"
VERIFY_TOKEN = "threadline-verify-7f3a"
PHONE_NUMBER_ID = "106540352242922"
TEMPLATES = [
    {"name": "order_update", "language": "pl", "body": "Zamówienie {{1}}: {{2}}"},
    {"name": "order_update", "language": "en_US", "body": "Order {{1}}: {{2}}"},
    "callback_offer",
]
POLICY = DeliveryPolicy(lease=timedelta(seconds=60), max_attempts=3, backoff_seconds=10)


@dataclass
class MetaInboxes:
    whatsapp: int
    messenger: int


def fixture_bytes(provider: str, name: str, graph: GraphServer | None = None) -> bytes:
    raw = load_fixture(provider, name)
    if graph is not None:
        # Messenger attachment URLs point at Meta's CDN; the local server stands in for it.
        raw = raw.replace(b"https://scontent.xx.fbcdn.net", graph.base.encode())
    return raw


async def configure_meta(
    runtime: Runtime, ws: WorkspaceFixture, graph: GraphServer, tmp_path: Path
) -> MetaInboxes:
    runtime.settings.meta_graph_base = graph.base
    runtime.settings.meta_graph_version = VERSION
    runtime.settings.attachments_dir = str(tmp_path / "attachments")
    async with runtime.uow() as uow:
        await set_inbox(
            uow.session,
            ws.inboxes["whatsapp"],
            secret=APP_SECRET,
            settings={
                "verify_token": VERIFY_TOKEN,
                "access_token": ACCESS_TOKEN,
                "phone_number_id": PHONE_NUMBER_ID,
                "templates": TEMPLATES,
            },
        )
        messenger = await create_inbox(
            uow,
            ws.id,
            name="Facebook page",
            channel=Channel.MESSENGER,
            settings={"verify_token": VERIFY_TOKEN, "access_token": ACCESS_TOKEN},
            secret=APP_SECRET,
        )
        await uow.commit()
    return MetaInboxes(ws.inboxes["whatsapp"], messenger.id)


async def post_webhook(
    client: httpx.AsyncClient,
    channel: str,
    inbox_id: int,
    raw: bytes,
    *,
    secret: str = APP_SECRET,
    signature: str | None = None,
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature != "":
        headers[HEADER] = signature or sign(secret, raw)
    return await client.post(f"/webhooks/{channel}/{inbox_id}", content=raw, headers=headers)


async def deliver(runtime: Runtime, policy: DeliveryPolicy = POLICY) -> DeliveryReport:
    return await deliver_due(
        runtime.uow, build_outbound_adapters(runtime.settings), policy, runtime.clock.now()
    )


async def messages(runtime: Runtime, workspace_id: int) -> list[t.Message]:
    async with runtime.sessionmaker() as session:
        return list(
            (
                await session.execute(
                    select(t.Message)
                    .where(t.Message.workspace_id == workspace_id)
                    .order_by(t.Message.id)
                )
            ).scalars()
        )


async def identities(runtime: Runtime, workspace_id: int) -> list[tuple[str, str, int]]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(t.Identity.kind, t.Identity.value, t.Identity.customer_id).where(
                t.Identity.workspace_id == workspace_id
            )
        )
        return [(kind, value, customer) for kind, value, customer in rows]


def attachment_bytes(tmp_path: Path, workspace_id: int, description: dict[str, Any]) -> bytes:
    digest: str = description["sha256"]
    return (tmp_path / "attachments" / str(workspace_id) / digest[:2] / digest).read_bytes()


async def outbound_job(runtime: Runtime, message_id: int) -> t.OutboundJob:
    """The send job of our message `message_id`."""
    async with runtime.sessionmaker() as session:
        return (
            await session.execute(
                select(t.OutboundJob).where(t.OutboundJob.message_id == message_id)
            )
        ).scalar_one()


async def send_key(runtime: Runtime, message_id: int) -> str:
    """The key of the message's send job: what we send Meta to be given back in webhooks."""
    return (await outbound_job(runtime, message_id)).idempotency_key
