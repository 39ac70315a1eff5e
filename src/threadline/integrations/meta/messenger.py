"""Parsing Messenger Platform webhooks (object "page").

Each entry[].messaging[] event has sender.id (the page-scoped id of the person, PSID),
recipient.id (our page), a millisecond timestamp and one of: message, postback,
delivery, read, reaction. Echoes of our own page's messages are not customer messages:
one carrying the metadata we send with every reply (the job's key) reports that reply
sent, with its message id; other echoes are skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from threadline.domain.bounds import checked_moment
from threadline.domain.channels import IdentityKind
from threadline.integrations.meta.payloads import (
    MalformedPayload,
    MediaRef,
    ParsedBatch,
    ParsedMessage,
    ParsedStatus,
    ReadUpTo,
    epoch_to_iso,
    need_dict,
    need_str,
    optional_list,
    optional_str,
    payload_entries,
)

OBJECT = "page"
FILE_TYPES = {"image", "video", "audio", "file"}


def parse_messenger(payload: Any) -> ParsedBatch:
    batch = ParsedBatch()
    for at, entry in payload_entries(payload, OBJECT):
        # "standby" events belong to another app in a handover; only ours are read.
        for i, event in enumerate(optional_list(entry.get("messaging"), f"{at}.messaging")):
            _event(need_dict(event, f"{at}.messaging[{i}]"), f"{at}.messaging[{i}]", batch)
    return batch


def _event(event: dict[str, Any], where: str, batch: ParsedBatch) -> None:
    sender = need_str(
        need_dict(event.get("sender"), f"{where}.sender").get("id"), f"{where}.sender.id"
    )
    timestamp = event.get("timestamp")
    meta: dict[str, Any] = {}
    sent_at = epoch_to_iso(timestamp, milliseconds=True)
    if sent_at:
        meta["sent_at"] = sent_at
    if "message" in event:
        message = need_dict(event["message"], f"{where}.message")
        if message.get("is_echo"):
            # Our own page's message coming back; ours carry their key as metadata.
            key = optional_str(message.get("metadata"))
            if key:
                mid = need_str(message.get("mid"), f"{where}.message.mid")
                batch.statuses.append(ParsedStatus(mid, "sent", callback_data=key))
            return
        batch.messages.append(_message(sender, message, meta, where))
    elif "postback" in event:
        postback = need_dict(event["postback"], f"{where}.postback")
        title = optional_str(postback.get("title")) or ""
        meta["postback"] = {"title": title, "payload": optional_str(postback.get("payload"))}
        provider_id = optional_str(postback.get("mid")) or f"postback-{sender}-{timestamp}"
        batch.messages.append(
            ParsedMessage(IdentityKind.MESSENGER, sender, provider_id, text=title, meta=meta)
        )
    elif "reaction" in event:
        reaction = need_dict(event["reaction"], f"{where}.reaction")
        reacted_to = need_str(reaction.get("mid"), f"{where}.reaction.mid")
        emoji = optional_str(reaction.get("emoji"))
        action = optional_str(reaction.get("action")) or "react"
        meta["reaction"] = {"message_id": reacted_to, "emoji": emoji, "action": action}
        batch.messages.append(
            ParsedMessage(
                IdentityKind.MESSENGER,
                sender,
                f"reaction-{reacted_to}-{sender}-{timestamp}",
                text=f"Reacted {emoji}" if action == "react" and emoji else "Removed a reaction",
                thread_refs=(reacted_to,),
                meta=meta,
            )
        )
    elif "delivery" in event:
        delivery = need_dict(event["delivery"], f"{where}.delivery")
        for mid in optional_list(delivery.get("mids"), f"{where}.delivery.mids"):
            batch.statuses.append(
                ParsedStatus(need_str(mid, f"{where}.delivery.mids[]"), "delivered")
            )
    elif "read" in event:
        read = need_dict(event["read"], f"{where}.read")
        watermark = read.get("watermark")
        if not isinstance(watermark, int | float) or isinstance(watermark, bool):
            raise MalformedPayload(f"{where}.read.watermark must be a number (milliseconds)")
        try:
            read_up_to = checked_moment(datetime.fromtimestamp(watermark / 1000, UTC))
        except (ValueError, OverflowError, OSError) as exc:
            raise MalformedPayload(f"{where}.read.watermark is not a moment: {exc}") from exc
        batch.reads.append(ReadUpTo(sender, read_up_to))


def _message(
    sender: str, message: dict[str, Any], meta: dict[str, Any], where: str
) -> ParsedMessage:
    provider_id = need_str(message.get("mid"), f"{where}.message.mid")
    raw_text = message.get("text")
    text = raw_text if isinstance(raw_text, str) else ""
    quick_reply = message.get("quick_reply")
    if isinstance(quick_reply, dict):
        meta["quick_reply"] = {"payload": optional_str(quick_reply.get("payload"))}
    thread_refs: tuple[str, ...] = ()
    reply_to = message.get("reply_to")
    if isinstance(reply_to, dict) and isinstance(reply_to.get("mid"), str):
        meta["in_reply_to"] = reply_to["mid"]
        thread_refs = (reply_to["mid"],)
    media: list[MediaRef] = []
    others: list[dict[str, Any]] = []
    attachments = optional_list(message.get("attachments"), f"{where}.message.attachments")
    for n, attachment in enumerate(attachments):
        attachment = need_dict(attachment, f"{where}.message.attachments[{n}]")
        kind = need_str(attachment.get("type"), f"{where}.message.attachments[{n}].type")
        raw_payload = attachment.get("payload")
        payload: dict[str, Any] = raw_payload if isinstance(raw_payload, dict) else {}
        url = optional_str(payload.get("url"))
        if kind in FILE_TYPES and url:
            media.append(MediaRef(kind=kind, url=url, filename=f"{kind}-{provider_id}-{n}"))
        else:
            # Locations, shared templates and fallback links: kept as they came.
            others.append({"type": kind, "payload": payload, "title": attachment.get("title")})
    if others:
        meta["other_attachments"] = others
    if not text and not media and not others:
        raise MalformedPayload(f"{where}.message has neither text nor attachments")
    return ParsedMessage(
        IdentityKind.MESSENGER,
        sender,
        provider_id,
        text=text,
        media=tuple(media),
        thread_refs=thread_refs,
        meta=meta,
    )
