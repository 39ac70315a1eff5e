"""Step 1 of a send job, after its claim: the envelope its adapter sends, read from the
message, its inbox and its author; an email reply also gets the thread headers that file it
under the customer's own mail."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.channels.base import OutboundEnvelope
from threadline.adapters.db import tables as t
from threadline.adapters.db.outbound_claims import ClaimedJob
from threadline.core.unit_of_work import UnitOfWorkFactory
from threadline.domain.channels import Channel


async def load_envelopes(
    uow_factory: UnitOfWorkFactory, jobs: list[ClaimedJob]
) -> dict[int, OutboundEnvelope]:
    envelopes: dict[int, OutboundEnvelope] = {}
    async with uow_factory() as uow:
        session = uow.session
        for job in jobs:
            message = (
                await session.execute(
                    select(t.Message).where(
                        t.Message.id == job.message_id,
                        t.Message.workspace_id == job.workspace_id,
                    )
                )
            ).scalar_one_or_none()
            if message is None:
                continue
            inbox = await session.get(t.Inbox, message.inbox_id) if message.inbox_id else None
            author = (
                await session.get(t.Agent, message.author_agent_id)
                if message.author_agent_id
                else None
            )
            recipient = message.meta.get("recipient")
            envelopes[job.id] = OutboundEnvelope(
                workspace_id=job.workspace_id,
                message_id=message.id,
                conversation_id=message.conversation_id,
                channel=Channel(message.channel),
                inbox_id=inbox.id if inbox else 0,
                recipient=str(recipient) if recipient is not None else None,
                text=message.text,
                author_name=author.name if author else None,
                author_photo_url=author.photo_url if author else None,
                created_at=message.created_at,
                idempotency_key=job.idempotency_key,
                inbox_settings=dict(inbox.settings) if inbox else {},
                inbox_secret=inbox.secret if inbox else None,
                template=message.meta.get("template"),
                **(await _email_fields(session, message, inbox)),
            )
    return envelopes


async def _email_fields(
    session: AsyncSession, message: t.Message, inbox: t.Inbox | None
) -> dict[str, Any]:
    """From, subject and thread headers of an email reply, so the customer's client threads it
    under their own mail: In-Reply-To the latest email of the conversation we received (or,
    failing that, sent) and References its chain."""
    if message.channel != Channel.EMAIL.value:
        return {}
    conversation = await session.get(t.Conversation, message.conversation_id)
    fields: dict[str, Any] = {
        "from_address": inbox.address if inbox else None,
        "inbox_name": inbox.name if inbox else None,
        "subject": conversation.subject if conversation else None,
    }
    earlier = (
        await session.execute(
            select(t.Message)
            .where(
                t.Message.workspace_id == message.workspace_id,
                t.Message.conversation_id == message.conversation_id,
                t.Message.channel == Channel.EMAIL.value,
                t.Message.provider_message_id.is_not(None),
                t.Message.id != message.id,
                t.Message.direction.in_(["inbound", "outbound"]),
            )
            .order_by(
                (t.Message.direction == "inbound").desc(),
                t.Message.created_at.desc(),
                t.Message.id.desc(),
            )
            .limit(1)
        )
    ).scalar_one_or_none()
    if earlier is not None and earlier.provider_message_id:
        parent = f"<{earlier.provider_message_id.strip().strip('<>')}>"
        chain = [ref for ref in _stored_references(earlier.meta) if ref != parent]
        fields["thread_headers"] = {
            "In-Reply-To": parent,
            # RFC 5322 3.6.4: the parent's References followed by the parent's own id.
            "References": " ".join([*chain[-20:], parent]),
        }
    return fields


def _stored_references(meta: dict[str, Any]) -> list[str]:
    found = meta.get("references")
    email_meta = meta.get("email")
    if found is None and isinstance(email_meta, dict):
        found = email_meta.get("references")
    if isinstance(found, str):
        found = found.split()
    if not isinstance(found, list):
        return []
    return [f"<{str(ref).strip().strip('<>')}>" for ref in found if str(ref).strip("<> ")]
