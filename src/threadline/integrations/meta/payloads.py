"""The shapes parsed out of Meta webhook payloads, shared by WhatsApp and Messenger."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from threadline.domain.channels import IdentityKind
from threadline.domain.errors import DomainError


class MalformedPayload(DomainError):
    status = 400
    title = "Malformed webhook payload"


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A file to fetch: a WhatsApp media id (through the Graph API) or a direct URL."""

    kind: str
    media_id: str | None = None
    url: str | None = None
    mime_type: str | None = None
    filename: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    sender_kind: IdentityKind
    sender_value: str
    provider_message_id: str
    text: str = ""
    sender_name: str | None = None
    media: tuple[MediaRef, ...] = ()
    thread_refs: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParsedStatus:
    """A delivery report about one of our outbound messages, by the provider's id."""

    provider_message_id: str
    status: str
    reason: str | None = None
    # What we sent along to be given back (the job's key): names our message even when
    # we never learned its provider id.
    callback_data: str | None = None


@dataclass(frozen=True, slots=True)
class ReadUpTo:
    """Messenger's read receipt: everything sent to `reader` up to `watermark` was read."""

    reader: str
    watermark: datetime


@dataclass
class ParsedBatch:
    messages: list[ParsedMessage] = field(default_factory=list)
    statuses: list[ParsedStatus] = field(default_factory=list)
    reads: list[ReadUpTo] = field(default_factory=list)


def need_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedPayload(f"{where} must be a JSON object")
    return value


def need_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedPayload(f"{where} must be a JSON array")
    return value


def optional_list(value: Any, where: str) -> list[Any]:
    return [] if value is None else need_list(value, where)


def need_str(value: Any, where: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise MalformedPayload(f"{where} must be a non-empty string")
    if len(value) > 300:
        raise MalformedPayload(f"{where} is longer than 300 characters")
    return value.strip()


def optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def epoch_to_iso(value: Any, *, milliseconds: bool = False) -> str | None:
    try:
        seconds = float(value) / (1000 if milliseconds else 1)
        return datetime.fromtimestamp(seconds, UTC).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def payload_entries(payload: Any, expected_object: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The entries of a webhook call for `expected_object` ("page", "whatsapp_business_account"),
    each with where it stands in the payload (for error messages). A payload for another
    object, or without a list of entries, is malformed."""
    body = need_dict(payload, "the payload")
    if body.get("object") != expected_object:
        raise MalformedPayload(f"object is {body.get('object')!r}, expected {expected_object!r}")
    for e, entry in enumerate(need_list(body.get("entry"), "entry")):
        yield f"entry[{e}]", need_dict(entry, f"entry[{e}]")
