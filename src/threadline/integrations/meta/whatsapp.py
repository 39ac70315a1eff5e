"""Parsing WhatsApp Cloud API webhooks (object "whatsapp_business_account").

Shapes as documented by Meta: entry[].changes[] with field "messages", whose value holds
metadata, contacts[] (the senders' profile names), messages[] and statuses[].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from threadline.domain.channels import IdentityKind
from threadline.integrations.meta.payloads import (
    MalformedPayload,
    MediaRef,
    ParsedBatch,
    ParsedMessage,
    ParsedStatus,
    epoch_to_iso,
    need_dict,
    need_list,
    need_str,
    optional_list,
    optional_str,
    payload_entries,
)

OBJECT = "whatsapp_business_account"
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
STATUSES = {"sent", "delivered", "read", "failed"}


def parse_whatsapp(payload: Any) -> ParsedBatch:
    """Everything in one webhook call, validated whole before anything is stored."""
    batch = ParsedBatch()
    for at, entry in payload_entries(payload, OBJECT):
        for c, change in enumerate(need_list(entry.get("changes"), f"{at}.changes")):
            change = need_dict(change, f"{at}.changes[{c}]")
            if change.get("field") != "messages":
                continue  # account, template and quality updates: nothing for a conversation
            where = f"{at}.changes[{c}].value"
            value = need_dict(change.get("value"), where)
            names = _profile_names(value, where)
            for m, raw in enumerate(optional_list(value.get("messages"), f"{where}.messages")):
                batch.messages.append(_message(need_dict(raw, f"{where}.messages[{m}]"), names))
            for s, raw in enumerate(optional_list(value.get("statuses"), f"{where}.statuses")):
                status = _status(need_dict(raw, f"{where}.statuses[{s}]"), f"{where}.statuses[{s}]")
                if status is not None:
                    batch.statuses.append(status)
    return batch


def _profile_names(value: dict[str, Any], where: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for contact in optional_list(value.get("contacts"), f"{where}.contacts"):
        if isinstance(contact, dict):
            name = (contact.get("profile") or {}).get("name")
            if isinstance(contact.get("wa_id"), str) and isinstance(name, str):
                names[contact["wa_id"]] = name
    return names


def _message(raw: dict[str, Any], names: dict[str, str]) -> ParsedMessage:
    provider_id = need_str(raw.get("id"), "message id")
    where = f"message {provider_id}"
    sender = need_str(raw.get("from"), f"{where}: from")
    kind = need_str(raw.get("type"), f"{where}: type")
    if not sender.lstrip("+").isdigit():
        raise MalformedPayload(f"{where}: from {sender!r} is not a WhatsApp phone number")
    meta: dict[str, Any] = {"whatsapp_type": kind}
    sent_at = epoch_to_iso(raw.get("timestamp"))
    if sent_at:
        meta["sent_at"] = sent_at
    thread_refs: tuple[str, ...] = ()
    context = raw.get("context")
    if isinstance(context, dict) and isinstance(context.get("id"), str):
        meta["in_reply_to"] = context["id"]
        thread_refs = (context["id"],)
    text, media = _content(kind, raw, meta, where)
    if kind == "reaction":
        thread_refs = (meta["reaction"]["message_id"],)
    return ParsedMessage(
        sender_kind=IdentityKind.PHONE,
        # wa_id is the number in international form without the "+"; E.164 needs it.
        sender_value="+" + sender.lstrip("+"),
        provider_message_id=provider_id,
        text=text,
        sender_name=names.get(sender),
        media=media,
        thread_refs=thread_refs,
        meta=meta,
    )


# The visible text and the files of one message, read from its part of the payload; the
# reader notes what only the message's meta can hold (a location, a shared contact...).
Content = tuple[str, tuple[MediaRef, ...]]
ContentReader = Callable[[str, dict[str, Any], dict[str, Any], str], Content]


def _content(kind: str, raw: dict[str, Any], meta: dict[str, Any], where: str) -> Content:
    """The visible text and the files of one message, by its type."""
    reader = _CONTENT_READERS.get(kind)
    if reader is None:
        reader = _media if kind in MEDIA_TYPES else _unsupported
    return reader(kind, raw, meta, where)


def _text(kind: str, raw: dict[str, Any], meta: dict[str, Any], where: str) -> Content:
    body = need_dict(raw.get("text"), f"{where}: text")
    if not isinstance(body.get("body"), str):
        raise MalformedPayload(f"{where}: text.body must be a string")
    return body["body"], ()


def _media(kind: str, raw: dict[str, Any], meta: dict[str, Any], where: str) -> Content:
    media = need_dict(raw.get(kind), f"{where}: {kind}")
    media_id = need_str(media.get("id"), f"{where}: {kind}.id")
    if kind == "audio" and media.get("voice"):
        meta["voice_note"] = True
    ref = MediaRef(
        kind=kind,
        media_id=media_id,
        # "audio/ogg; codecs=opus": the parameters are not part of the type.
        mime_type=(optional_str(media.get("mime_type")) or "").split(";")[0].strip() or None,
        filename=optional_str(media.get("filename")) or f"{kind}-{media_id}",
    )
    return optional_str(media.get("caption")) or "", (ref,)


def _location(kind: str, raw: dict[str, Any], meta: dict[str, Any], where: str) -> Content:
    place = need_dict(raw.get("location"), f"{where}: location")
    latitude, longitude = place.get("latitude"), place.get("longitude")
    if not all(isinstance(v, int | float) for v in (latitude, longitude)):
        raise MalformedPayload(f"{where}: location needs numeric latitude and longitude")
    meta["location"] = {
        "latitude": latitude,
        "longitude": longitude,
        "name": optional_str(place.get("name")),
        "address": optional_str(place.get("address")),
    }
    label = ", ".join(p for p in (place.get("name"), place.get("address")) if p)
    return f"Location: {label + ' ' if label else ''}({latitude}, {longitude})", ()


def _contacts(kind: str, raw: dict[str, Any], meta: dict[str, Any], where: str) -> Content:
    shared = need_list(raw.get("contacts"), f"{where}: contacts")
    meta["contacts"] = shared
    return "Shared contact: " + "; ".join(_contact_label(c) for c in shared), ()


def _interactive(kind: str, raw: dict[str, Any], meta: dict[str, Any], where: str) -> Content:
    reply = need_dict(raw.get("interactive"), f"{where}: interactive")
    reply_type = need_str(reply.get("type"), f"{where}: interactive.type")
    chosen = need_dict(reply.get(reply_type), f"{where}: interactive.{reply_type}")
    meta["interactive"] = {
        "type": reply_type,
        "id": optional_str(chosen.get("id")),
        "title": optional_str(chosen.get("title")),
        "description": optional_str(chosen.get("description")),
    }
    return str(chosen.get("title") or chosen.get("id") or ""), ()


def _button(kind: str, raw: dict[str, Any], meta: dict[str, Any], where: str) -> Content:
    button = need_dict(raw.get("button"), f"{where}: button")
    meta["button"] = {
        "text": optional_str(button.get("text")),
        "payload": optional_str(button.get("payload")),
    }
    return str(button.get("text") or button.get("payload") or ""), ()


def _reaction(kind: str, raw: dict[str, Any], meta: dict[str, Any], where: str) -> Content:
    reaction = need_dict(raw.get("reaction"), f"{where}: reaction")
    reacted_to = need_str(reaction.get("message_id"), f"{where}: reaction.message_id")
    # An empty emoji is WhatsApp's way of saying the reaction was taken back.
    emoji = optional_str(reaction.get("emoji"))
    meta["reaction"] = {"message_id": reacted_to, "emoji": emoji}
    return (f"Reacted {emoji}" if emoji else "Removed a reaction"), ()


def _unsupported(kind: str, raw: dict[str, Any], meta: dict[str, Any], where: str) -> Content:
    # "unsupported", "order", "system", and types added later: kept, not lost.
    meta["unsupported"] = True
    errors = raw.get("errors")
    if isinstance(errors, list):
        meta["errors"] = errors
    return f"[{kind} message]", ()


_CONTENT_READERS: dict[str, ContentReader] = {
    "text": _text,
    "location": _location,
    "contacts": _contacts,
    "interactive": _interactive,
    "button": _button,
    "reaction": _reaction,
}


def _contact_label(contact: Any) -> str:
    if not isinstance(contact, dict):
        return "?"
    name = (contact.get("name") or {}).get("formatted_name") or "unnamed"
    phones = [p.get("phone") for p in contact.get("phones") or [] if isinstance(p, dict)]
    shown = ", ".join(p for p in phones if isinstance(p, str))
    return f"{name} ({shown})" if shown else str(name)


def _status(raw: dict[str, Any], where: str) -> ParsedStatus | None:
    status = need_str(raw.get("status"), f"{where}.status")
    if status not in STATUSES:
        return None  # "deleted", "warning": nothing to show on our side
    reason = None
    if status == "failed":
        reasons = []
        for error in optional_list(raw.get("errors"), f"{where}.errors"):
            if not isinstance(error, dict):
                continue
            details = (error.get("error_data") or {}).get("details")
            text = (
                ": ".join(str(p) for p in (error.get("title"), error.get("message")) if p)
                or "unknown error"
            )
            if details and details not in text:
                text += f" ({details})"
            if error.get("code") is not None:
                text += f" [code {error['code']}]"
            reasons.append(text)
        reason = "WhatsApp: " + ("; ".join(reasons) or "the message could not be delivered")
    return ParsedStatus(
        need_str(raw.get("id"), f"{where}.id"),
        status,
        reason,
        callback_data=optional_str(raw.get("biz_opaque_callback_data")),
    )
