"""Telegram Bot API webhook: one URL per Telegram inbox (docs/channels/telegram.md).

Telegram sends the `secret_token` given to setWebhook back in
`X-Telegram-Bot-Api-Secret-Token`; without it nothing is read. Telegram retries any
update not answered 2xx, so updates we do not handle are acknowledged, and a Bot API
outage while fetching a file is answered 503 so the update comes again later.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Annotated, Any

import httpx
import structlog
from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from threadline.adapters.attachments import AttachmentTooLarge, store_attachment
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.conversations import receive_message
from threadline.core.lookups import stored_provider_ids
from threadline.domain.channels import Channel, IdentityKind
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.domain.security.signatures import presented_matches
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.problems import problem
from threadline.entrypoints.api.schemas import RowId
from threadline.integrations.telegram.sender import TelegramError, bot_token, download_file
from threadline.integrations.telegram.updates import (
    CustomerMessage,
    MalformedUpdate,
    Skipped,
    parse_update,
)

log = structlog.get_logger(__name__)

router = APIRouter(
    prefix="/webhooks/telegram",
    tags=["webhooks"],
    # 503: a file could not be fetched from the Bot API yet; Telegram sends the update again.
    responses=problem_responses(400, 403, 413, 503),
)


def webhook_secret(inbox: t.Inbox) -> str | None:
    """settings.webhook_secret, or else one derived from the inbox secret (the bot token).

    Telegram allows only A-Z, a-z, 0-9, _ and - in a secret token, which a bot token
    (`123:ABC...`) is not, hence the derivation; docs/channels/telegram.md shows both.
    """
    configured = inbox.settings.get("webhook_secret")
    if isinstance(configured, str) and configured:
        return configured
    if inbox.secret:
        return hashlib.sha256(f"telegram-webhook:{inbox.secret}".encode()).hexdigest()
    return None


@router.post("/{inbox_id}", summary="Receive a Telegram Bot API update")
async def receive_update(
    inbox_id: RowId,
    request: Request,
    runtime: RuntimeDep,
    x_telegram_bot_api_secret_token: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    async with runtime.sessionmaker() as session:
        inbox = await session.get(t.Inbox, inbox_id)
    if inbox is None or inbox.channel != Channel.TELEGRAM.value:
        return problem(404, "Not found", f"there is no Telegram inbox {inbox_id}")
    expected = webhook_secret(inbox)
    given = x_telegram_bot_api_secret_token or ""
    if not presented_matches(given, expected):
        log.warning("telegram.secret_mismatch", inbox_id=inbox_id, header_present=bool(given))
        return problem(
            403,
            "Forbidden",
            "X-Telegram-Bot-Api-Secret-Token is missing or does not match this inbox",
        )

    try:
        parsed = parse_update(json.loads(await request.body()))
    except (ValueError, UnicodeDecodeError) as exc:
        reason = str(exc) if isinstance(exc, MalformedUpdate) else f"the body is not JSON: {exc}"
        return problem(400, "Malformed Telegram update", reason)
    if isinstance(parsed, Skipped):
        log.info("telegram.update_skipped", inbox_id=inbox_id, reason=parsed.reason)
        return JSONResponse({"ok": True, "skipped": parsed.reason})

    if await _already_stored(runtime, inbox, parsed.provider_id):
        return JSONResponse({"ok": True, "duplicate": True})
    try:
        attachments, errors = await _fetch_files(runtime, inbox, parsed)
    except TelegramError as exc:
        # Nothing stored: Telegram sends the update again and the file is fetched then.
        log.warning("telegram.file_fetch_failed", inbox_id=inbox_id, reason=exc.reason)
        return problem(503, "Telegram unavailable", exc.reason)
    meta = dict(parsed.meta)
    if errors:
        meta["attachment_errors"] = errors
    result = await receive_message(
        runtime.uow,
        inbox.workspace_id,
        InboundMessage(
            inbox_id=inbox.id,
            sender=SenderIdentity(IdentityKind.TELEGRAM, parsed.sender_id),
            sender_name=parsed.sender_name,
            channel=Channel.TELEGRAM,
            text=parsed.text,
            attachments=tuple(attachments),
            provider_message_id=parsed.provider_id,
            meta=meta,
        ),
    )
    return JSONResponse(
        {"ok": True, "message_id": result.message_id, "duplicate": result.duplicate}
    )


async def _already_stored(runtime: Runtime, inbox: t.Inbox, provider_id: str) -> bool:
    """Checked before fetching files, so a redelivered photo is not downloaded again."""
    async with runtime.sessionmaker() as session:
        stored = await stored_provider_ids(session, inbox.workspace_id, inbox.id, [provider_id])
    return bool(stored)


async def _fetch_files(
    runtime: Runtime, inbox: t.Inbox, parsed: CustomerMessage
) -> tuple[list[dict[str, Any]], list[str]]:
    """Stored descriptions of the message's files, and reasons for files we could not keep.

    A file Telegram will never hand out (too big, gone) is noted on the message rather
    than blocking it; a temporary outage raises TelegramError to have the update resent.
    """
    if not parsed.files:
        return [], []
    token = bot_token(inbox.secret)
    if token is None:
        return [], ["the inbox has no bot token, so the customer's files were not fetched"]
    settings = runtime.settings
    stored: list[dict[str, Any]] = []
    errors: list[str] = []
    async with httpx.AsyncClient(timeout=settings.outbound_timeout_seconds) as client:
        for ref in parsed.files:
            try:
                downloaded = await download_file(
                    client, settings.telegram_api_base, token, ref.file_id
                )
                filename = ref.filename or downloaded.file_path.rsplit("/", 1)[-1]
                description = await asyncio.to_thread(
                    store_attachment,
                    settings,
                    inbox.workspace_id,
                    downloaded.data,
                    filename=filename,
                    content_type=ref.content_type,
                )
            except TelegramError as exc:
                if exc.retryable:
                    raise
                errors.append(f"{ref.kind}: {exc.reason}")
                continue
            except AttachmentTooLarge as exc:
                errors.append(f"{ref.kind}: {exc.reason}")
                continue
            stored.append({**description, "telegram_kind": ref.kind})
    return stored, errors
