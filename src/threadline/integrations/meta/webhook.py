"""Meta webhooks: WhatsApp Cloud API and Messenger, one URL per inbox.

    GET  /webhooks/{whatsapp|messenger}/{inbox_id}  the subscription handshake
    POST /webhooks/{whatsapp|messenger}/{inbox_id}  messages and delivery reports

A POST is answered 200 only once everything in it is stored, so Meta redelivers a batch
we could not finish; redelivered messages are recognised by their provider id.
Configuration is described in docs/channels/whatsapp.md and docs/channels/messenger.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import select

from threadline.adapters.attachments import AttachmentTooLarge, store_attachment
from threadline.adapters.db import tables as t
from threadline.adapters.egress.http import checked_client
from threadline.bootstrap import Runtime
from threadline.conversations import receive_message
from threadline.core.lookups import get_workspace, stored_provider_ids
from threadline.core.unit_of_work import UnitOfWork
from threadline.delivery import apply_delivery_report, report_delivery_status
from threadline.domain.channels import Channel
from threadline.domain.conversations import DeliveryStatus, Direction
from threadline.domain.customers.identities import normalise_identity
from threadline.domain.errors import Forbidden, InvalidIdentity, NotFound
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.domain.security.egress import EgressRefused
from threadline.domain.security.signatures import presented_matches
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.api.schemas import RowId
from threadline.integrations.meta import signature
from threadline.integrations.meta.graph_media import (
    Downloaded,
    GraphEndpoint,
    download_url,
    download_whatsapp_media,
)
from threadline.integrations.meta.messenger import parse_messenger
from threadline.integrations.meta.payloads import (
    MalformedPayload,
    MediaRef,
    ParsedBatch,
    ParsedMessage,
    ReadUpTo,
)
from threadline.integrations.meta.whatsapp import parse_whatsapp

log = structlog.get_logger(__name__)

# Provider webhooks authenticate by signature, not by user: kept out of the API document.
router = APIRouter(prefix="/webhooks", tags=["webhooks"], include_in_schema=False)


@dataclass(frozen=True, slots=True)
class MetaInbox:
    id: int
    workspace_id: int
    channel: Channel
    settings: dict[str, Any]
    app_secret: str | None
    default_region: str


@router.get("/whatsapp/{inbox_id}")
async def verify_whatsapp(inbox_id: RowId, request: Request, runtime: RuntimeDep) -> Any:
    return await _handshake(runtime, inbox_id, Channel.WHATSAPP, request)


@router.get("/messenger/{inbox_id}")
async def verify_messenger(inbox_id: RowId, request: Request, runtime: RuntimeDep) -> Any:
    return await _handshake(runtime, inbox_id, Channel.MESSENGER, request)


@router.post("/whatsapp/{inbox_id}")
async def whatsapp_webhook(inbox_id: RowId, request: Request, runtime: RuntimeDep) -> Any:
    inbox, payload = await _signed_payload(runtime, inbox_id, Channel.WHATSAPP, request)
    return await _store_batch(runtime, inbox, parse_whatsapp(payload))


@router.post("/messenger/{inbox_id}")
async def messenger_webhook(inbox_id: RowId, request: Request, runtime: RuntimeDep) -> Any:
    inbox, payload = await _signed_payload(runtime, inbox_id, Channel.MESSENGER, request)
    return await _store_batch(runtime, inbox, parse_messenger(payload))


async def _load_inbox(runtime: Runtime, inbox_id: int, channel: Channel) -> MetaInbox:
    async with runtime.sessionmaker() as session:
        inbox = await session.get(t.Inbox, inbox_id)
        if inbox is None or inbox.channel != channel.value:
            raise NotFound(f"no {channel.value} inbox {inbox_id}")
        workspace = await get_workspace(session, inbox.workspace_id)
        return MetaInbox(
            inbox.id,
            inbox.workspace_id,
            channel,
            dict(inbox.settings),
            inbox.secret,
            workspace.default_region,
        )


async def _handshake(
    runtime: Runtime, inbox_id: int, channel: Channel, request: Request
) -> PlainTextResponse:
    """Meta checks the URL before subscribing: echo hub.challenge if the token matches."""
    inbox = await _load_inbox(runtime, inbox_id, channel)
    params = request.query_params
    expected = inbox.settings.get("verify_token")
    given = params.get("hub.verify_token", "")
    if not isinstance(expected, str) or not expected:
        raise Forbidden(f"inbox {inbox_id} has no verify_token setting to check Meta against")
    if params.get("hub.mode") != "subscribe" or not presented_matches(given, expected):
        raise Forbidden("hub.mode must be subscribe and hub.verify_token must match the inbox")
    return PlainTextResponse(params.get("hub.challenge", ""))


async def _signed_payload(
    runtime: Runtime, inbox_id: int, channel: Channel, request: Request
) -> tuple[MetaInbox, Any]:
    inbox = await _load_inbox(runtime, inbox_id, channel)
    raw = await request.body()
    if not signature.verify(inbox.app_secret, raw, request.headers.get(signature.HEADER)):
        log.warning("meta.webhook_forged", inbox_id=inbox_id, channel=channel.value)
        raise Forbidden(f"missing or wrong {signature.HEADER} for this inbox's app secret")
    try:
        return inbox, json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedPayload(f"the body is not JSON: {exc}") from exc


async def _store_batch(runtime: Runtime, inbox: MetaInbox, batch: ParsedBatch) -> dict[str, Any]:
    # Check every sender before storing anything, so a bad batch leaves no half of itself.
    for parsed in batch.messages:
        try:
            normalise_identity(parsed.sender_kind, parsed.sender_value, inbox.default_region)
        except InvalidIdentity as exc:
            raise MalformedPayload(f"message {parsed.provider_message_id}: {exc.reason}") from exc
    fresh = await _not_yet_stored(runtime, inbox, batch.messages)
    # Media links expire within minutes, so files are fetched only for messages not yet
    # stored, and all of them before the first is stored.
    inbounds = [await _inbound(runtime, inbox, parsed) for parsed in fresh]
    stored = 0
    for inbound in inbounds:
        result = await receive_message(runtime.uow, inbox.workspace_id, inbound)
        stored += 0 if result.duplicate else 1
    applied = await _apply_reports(runtime, inbox, batch)
    return {
        "received": len(batch.messages),
        "stored": stored,
        "statuses_applied": applied,
    }


async def _not_yet_stored(
    runtime: Runtime, inbox: MetaInbox, messages: list[ParsedMessage]
) -> list[ParsedMessage]:
    if not messages:
        return []
    async with runtime.sessionmaker() as session:
        known = await stored_provider_ids(
            session, inbox.workspace_id, inbox.id, [m.provider_message_id for m in messages]
        )
    seen: set[str] = set()
    fresh = []
    for message in messages:
        if message.provider_message_id in known or message.provider_message_id in seen:
            continue
        seen.add(message.provider_message_id)
        fresh.append(message)
    return fresh


async def _inbound(runtime: Runtime, inbox: MetaInbox, parsed: ParsedMessage) -> InboundMessage:
    attachments = [await _attachment(runtime, inbox, ref) for ref in parsed.media]
    return InboundMessage(
        inbox_id=inbox.id,
        sender=SenderIdentity(parsed.sender_kind, parsed.sender_value),
        text=parsed.text,
        channel=inbox.channel,
        sender_name=parsed.sender_name,
        attachments=tuple(attachments),
        provider_message_id=parsed.provider_message_id,
        thread_refs=parsed.thread_refs,
        meta=parsed.meta,
    )


async def _attachment(runtime: Runtime, inbox: MetaInbox, ref: MediaRef) -> dict[str, Any]:
    settings = runtime.settings
    timeout = settings.outbound_timeout_seconds
    async with (
        httpx.AsyncClient(timeout=timeout) as graph_client,
        checked_client(settings.egress_policy(), timeout) as file_client,
    ):
        downloaded: Downloaded
        try:
            if ref.media_id is not None:
                graph = GraphEndpoint(settings.meta_graph_base, settings.meta_graph_version)
                token = inbox.settings.get("access_token")
                downloaded = await download_whatsapp_media(
                    graph_client,
                    file_client,
                    graph,
                    token if isinstance(token, str) else None,
                    ref.media_id,
                )
            else:
                assert ref.url is not None
                downloaded = await download_url(file_client, ref.url, f"Messenger {ref.kind}")
        except EgressRefused as exc:
            # Kept on the message with the reason: a redelivery would point to the same place.
            log.warning("meta.media_refused", inbox_id=inbox.id, reason=exc.reason)
            return {"filename": ref.filename, "content_type": ref.mime_type, "rejected": exc.reason}
    content_type = ref.mime_type or downloaded.content_type
    try:
        description = store_attachment(
            settings,
            inbox.workspace_id,
            downloaded.data,
            filename=ref.filename,
            content_type=content_type,
        )
    except AttachmentTooLarge as exc:
        # Kept on the message with the reason: redelivery would not make it smaller.
        return {"filename": ref.filename, "content_type": content_type, "rejected": exc.reason}
    if ref.media_id is not None:
        description["provider_media_id"] = ref.media_id
    description["kind"] = ref.kind
    return description


async def _apply_reports(runtime: Runtime, inbox: MetaInbox, batch: ParsedBatch) -> int:
    if not batch.statuses and not batch.reads:
        return 0
    applied = 0
    async with runtime.uow() as uow:
        for status in batch.statuses:
            # Found by its id, or by the key we sent with it when its id is not ours yet
            # (a send whose answer was lost): that also settles the send.
            message_id = await apply_delivery_report(
                uow,
                inbox.workspace_id,
                status.provider_message_id,
                status.status,
                status.reason,
                inbox_id=inbox.id,
                key=status.callback_data,
            )
            if message_id is None:
                # Not ours (sent from another tool on the same number) or not yet recorded.
                log.info("meta.status_unmatched", inbox_id=inbox.id, status=status.status)
                continue
            applied += 1
        for read in batch.reads:
            applied += await _apply_read(uow, inbox, read)
        await uow.commit()
    return applied


async def _apply_read(uow: UnitOfWork, inbox: MetaInbox, read: ReadUpTo) -> int:
    """Messenger reports reads by time: our messages to this person up to then were read."""
    candidates = (
        (
            await uow.session.execute(
                select(t.Message).where(
                    t.Message.workspace_id == inbox.workspace_id,
                    t.Message.inbox_id == inbox.id,
                    t.Message.direction == Direction.OUTBOUND.value,
                    t.Message.delivery_status.in_(
                        [DeliveryStatus.SENT.value, DeliveryStatus.DELIVERED.value]
                    ),
                    t.Message.created_at <= read.watermark,
                )
            )
        )
        .scalars()
        .all()
    )
    applied = 0
    for message in candidates:
        if message.meta.get("recipient") == read.reader:
            await report_delivery_status(uow, inbox.workspace_id, message.id, "read", None)
            applied += 1
    return applied
