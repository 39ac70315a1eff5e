"""One raw email in, one stored message out (or a clear reason why not).

Used by the SMTP server and the IMAP poller alike. It returns only after
receive_message committed, so "250 OK" or an IMAP flag can follow safely; a redelivered
Message-ID is found and nothing new is stored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select

from threadline.adapters.attachments import AttachmentTooLarge, store_attachment
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.conversations import receive_message
from threadline.core.lookups import known_by_provider_id
from threadline.delivery import mark_bounced
from threadline.domain.channels import Channel, IdentityKind
from threadline.domain.customers.identities import normalise_email
from threadline.domain.errors import DomainError
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.integrations.email.addresses import conversation_from_address, is_inbox_address
from threadline.integrations.email.automation import (
    automated_reason,
    bounce_details,
    bounce_failure,
    carries_our_loop_marker,
)
from threadline.integrations.email.parsing import ParsedEmail, describe, parse_email

log = structlog.get_logger(__name__)

# More automated mails than this from one sender within the window is an auto-reply loop
# (two robots answering each other); the rest are refused until the window passes.
AUTOMATED_LOOP_LIMIT = 5
AUTOMATED_LOOP_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class IngestResult:
    message_id: int | None = None
    conversation_id: int | None = None
    customer_id: int | None = None
    duplicate: bool = False
    automated: bool = False
    # Set when the mail was refused; nothing was stored. Meant for an SMTP 5xx or a log.
    rejection: str | None = None

    @property
    def stored(self) -> bool:
        return self.rejection is None


@dataclass(frozen=True, slots=True)
class _InboxInfo:
    id: int
    workspace_id: int
    address: str | None
    secret: str | None


async def _load_inbox(runtime: Runtime, inbox: t.Inbox | int) -> _InboxInfo:
    inbox_id = inbox if isinstance(inbox, int) else inbox.id
    async with runtime.sessionmaker() as session:
        row = await session.get(t.Inbox, inbox_id)
        if row is None:
            raise DomainError(f"inbox {inbox_id} does not exist")
        return _InboxInfo(row.id, row.workspace_id, row.address, row.secret)


def provider_message_id(parsed: ParsedEmail, raw: bytes) -> str:
    """The Message-ID (without brackets); a hash of the bytes when the sender gave none."""
    return parsed.message_id or f"sha256:{hashlib.sha256(raw).hexdigest()}"


def thread_references(parsed: ParsedEmail, extra: list[str] | None = None) -> tuple[str, ...]:
    """Ids this mail answers, most direct first, with and without angle brackets so that
    whichever form an outbound message was stored under is found."""
    ids = list(dict.fromkeys([*parsed.in_reply_to, *reversed(parsed.references), *(extra or [])]))[
        :50
    ]
    return tuple(form for i in ids for form in (i, f"<{i}>"))


def addressed_conversation(
    parsed: ParsedEmail, inbox: _InboxInfo, envelope_recipients: list[str] | None
) -> int | None:
    """The conversation named by a reply+token recipient of this inbox (To, Cc or envelope)."""
    if not inbox.address or not inbox.secret:
        return None
    for recipient in [*(envelope_recipients or []), *parsed.to, *parsed.cc]:
        if is_inbox_address(recipient, inbox.address):
            conversation_id = conversation_from_address(recipient, inbox.secret)
            if conversation_id is not None:
                return conversation_id
    return None


def _sender(parsed: ParsedEmail, envelope_sender: str | None) -> str | None:
    """From is the identity; Reply-To and the envelope only stand in when From is unusable."""
    for candidate in (parsed.from_address, *parsed.reply_to, envelope_sender):
        found = _sender_from(candidate)
        if found:
            return found
    return None


def _sender_from(candidate: str | None) -> str | None:
    if not candidate:
        return None
    try:
        return normalise_email(candidate)
    except DomainError:
        return None


async def _too_many_automated(runtime: Runtime, inbox: _InboxInfo, sender: str) -> bool:
    since = runtime.clock.now() - AUTOMATED_LOOP_WINDOW
    async with runtime.sessionmaker() as session:
        metas = (
            await session.execute(
                select(t.Message.meta)
                .where(
                    t.Message.workspace_id == inbox.workspace_id,
                    t.Message.inbox_id == inbox.id,
                    t.Message.sender_identity == sender,
                    t.Message.created_at >= since,
                )
                .order_by(t.Message.id.desc())
                .limit(AUTOMATED_LOOP_LIMIT * 4)
            )
        ).scalars()
        automated = sum(1 for meta in metas if isinstance(meta, dict) and meta.get("automated"))
    return automated >= AUTOMATED_LOOP_LIMIT


async def _fail_what_bounced(
    runtime: Runtime, workspace_id: int, sent_message_ids: list[str], reason: str
) -> None:
    """The report is stored already; our emails it names as undeliverable are now failed
    (in a transaction of their own: the bounce is kept even if this fails)."""
    try:
        async with runtime.uow() as uow:
            failed = await mark_bounced(uow, workspace_id, sent_message_ids, reason)
            await uow.commit()
    except Exception:
        log.exception("email.bounce_not_applied", workspace_id=workspace_id)
        return
    if failed:
        log.info("email.bounced", workspace_id=workspace_id, message_ids=failed)


async def _already_stored(
    runtime: Runtime, inbox: _InboxInfo, provider_id: str
) -> IngestResult | None:
    """A redelivered mail is answered from what was stored, before any file is written."""
    async with runtime.sessionmaker() as session:
        row = (
            await session.execute(
                select(t.Message.id, t.Message.conversation_id, t.Conversation.customer_id)
                .join(t.Conversation, t.Conversation.id == t.Message.conversation_id)
                .where(known_by_provider_id(inbox.workspace_id, inbox.id, [provider_id]))
            )
        ).first()
    if row is None:
        return None
    return IngestResult(
        message_id=row[0], conversation_id=row[1], customer_id=row[2], duplicate=True
    )


def _oversized(parsed: ParsedEmail, limit: int) -> str | None:
    for file in parsed.files:
        if len(file.data) > limit:
            return (
                f"attachment {file.filename or 'unnamed'!r} is {len(file.data)} bytes; "
                f"the limit is {limit} bytes"
            )
    return None


def _store_files(
    runtime: Runtime, inbox: _InboxInfo, parsed: ParsedEmail, raw: bytes
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    settings = runtime.settings
    stored = [
        store_attachment(
            settings,
            inbox.workspace_id,
            file.data,
            filename=file.filename,
            content_type=file.content_type,
            inline=file.inline,
            content_id=file.content_id,
        )
        for file in parsed.files
    ]
    # The whole original mail is kept as a file so it can be viewed or downloaded; it may be
    # larger than one attachment may be (base64), so its own limit is the message size.
    raw_limit = max(settings.max_attachment_bytes, len(raw))
    original = store_attachment(
        settings.model_copy(update={"max_attachment_bytes": raw_limit}),
        inbox.workspace_id,
        raw,
        filename="original.eml",
        content_type="message/rfc822",
    )
    return stored, original


async def ingest_raw_email(
    runtime: Runtime,
    inbox: t.Inbox | int,
    raw: bytes,
    *,
    envelope_recipients: list[str] | None = None,
    envelope_sender: str | None = None,
) -> IngestResult:
    """Parse, classify and durably store one email for `inbox` (a row or its id)."""
    info = await _load_inbox(runtime, inbox)
    parsed = _parsed(raw, info)
    if isinstance(parsed, IngestResult):
        return parsed
    sender = _identified_sender(parsed, info, envelope_sender)
    if isinstance(sender, IngestResult):
        return sender
    earlier = await _already_stored(runtime, info, provider_message_id(parsed, raw))
    if earlier is not None:
        return earlier
    automated_because = automated_reason(parsed)
    refusal = await _refused_before_storing(runtime, info, parsed, sender, automated_because)
    if refusal is not None:
        return refusal
    try:
        files = _store_files(runtime, info, parsed, raw)
    except AttachmentTooLarge as exc:
        return IngestResult(rejection=str(exc))
    inbound = _inbound_message(
        info, parsed, raw, sender, automated_because, files, envelope_recipients
    )
    try:
        received = await receive_message(runtime.uow, info.workspace_id, inbound)
    except DomainError as exc:
        return IngestResult(rejection=str(exc))
    failure = bounce_failure(parsed) if sender.bounced_ids else None
    if failure and not received.duplicate:
        await _fail_what_bounced(runtime, info.workspace_id, sender.bounced_ids, failure)
    return IngestResult(
        message_id=received.message_id,
        conversation_id=received.conversation_id,
        customer_id=received.customer_id,
        duplicate=received.duplicate,
        automated=inbound.automated,
    )


def _parsed(raw: bytes, inbox: _InboxInfo) -> ParsedEmail | IngestResult:
    if not raw.strip():
        return IngestResult(rejection="the message is empty")
    try:
        return parse_email(raw)
    except Exception as exc:
        # parse_email degrades rather than raises; this is the last line of defence, so a
        # sending server gets a permanent answer instead of retrying a hopeless message.
        log.exception("email.unparseable", inbox_id=inbox.id)
        return IngestResult(rejection=f"the message is malformed beyond repair ({exc!r:.100})")


@dataclass(frozen=True, slots=True)
class _Sender:
    address: str
    # For a delivery report: the customer whose address bounced, and the ids of our mail.
    bounced_for: str | None
    bounced_ids: list[str]


def _identified_sender(
    parsed: ParsedEmail, inbox: _InboxInfo, envelope_sender: str | None
) -> _Sender | IngestResult:
    """Who the mail is from (for a bounce, the customer it is about), unless it is a loop."""
    if carries_our_loop_marker(parsed, inbox.address, inbox.id):
        return IngestResult(rejection="mail loop: the message carries this inbox's own loop header")
    bounced_address, bounced_ids = bounce_details(parsed)
    bounced_for = _sender_from(bounced_address) if bounced_address else None
    sender = bounced_for or _sender(parsed, envelope_sender)
    if sender is None:
        return IngestResult(rejection="the message has no usable sender address (From)")
    if inbox.address and is_inbox_address(sender, inbox.address):
        return IngestResult(rejection="mail loop: the message comes from this inbox's own address")
    return _Sender(sender, bounced_for, bounced_ids)


async def _refused_before_storing(
    runtime: Runtime,
    inbox: _InboxInfo,
    parsed: ParsedEmail,
    sender: _Sender,
    automated_because: str | None,
) -> IngestResult | None:
    """An auto-reply loop, or a file over the limit: refused before any file is written."""
    if automated_because and await _too_many_automated(runtime, inbox, sender.address):
        return IngestResult(
            automated=True,
            rejection=f"mail loop: more than {AUTOMATED_LOOP_LIMIT} automated messages "
            f"from {sender.address} within "
            f"{int(AUTOMATED_LOOP_WINDOW.total_seconds() // 60)} minutes",
        )
    too_large = _oversized(parsed, runtime.settings.max_attachment_bytes)
    if too_large:
        return IngestResult(rejection=too_large)
    return None


def _inbound_message(
    inbox: _InboxInfo,
    parsed: ParsedEmail,
    raw: bytes,
    sender: _Sender,
    automated_because: str | None,
    files: tuple[list[dict[str, Any]], dict[str, Any]],
    envelope_recipients: list[str] | None,
) -> InboundMessage:
    attachments, original = files
    email_meta = describe(parsed)
    email_meta["original"] = original
    if automated_because:
        email_meta["automated_reason"] = automated_because
    if sender.bounced_for:
        email_meta["bounce"] = {"recipient": sender.bounced_for, "message_ids": sender.bounced_ids}
    return InboundMessage(
        inbox_id=inbox.id,
        channel=Channel.EMAIL,
        sender=SenderIdentity(IdentityKind.EMAIL, sender.address),
        # A bounce is filed under the customer it is about; the daemon's name is not theirs.
        sender_name=None if sender.bounced_for else (parsed.from_name or "")[:300] or None,
        text=parsed.text,
        html=parsed.html,
        subject=parsed.subject,
        attachments=tuple(attachments),
        provider_message_id=provider_message_id(parsed, raw),
        thread_refs=thread_references(parsed, sender.bounced_ids),
        thread_conversation_id=addressed_conversation(parsed, inbox, envelope_recipients),
        automated=automated_because is not None,
        meta={"email": email_meta},
    )
