"""Reading Telegram Bot API `Update` objects into what receive_message needs.

Pure parsing, no I/O: files are only referenced here (by file_id) and fetched by the
webhook. See https://core.telegram.org/bots/api#update for the shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Update kinds that carry a customer's message; everything else is acknowledged and skipped.
MESSAGE_KINDS = ("message", "edited_message")


class MalformedUpdate(ValueError):
    """The body is not a Telegram Update we can read; the reason says what is wrong."""


@dataclass(frozen=True, slots=True)
class FileRef:
    file_id: str
    filename: str | None
    content_type: str | None
    kind: str


@dataclass(frozen=True, slots=True)
class CustomerMessage:
    # `<chat id>:<message id>`; an edit adds `:edited:<edit_date>` so each edit is kept once.
    provider_id: str
    sender_id: str
    sender_name: str | None
    text: str
    files: tuple[FileRef, ...]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A valid update that is not a customer's message (a bot's, a channel post, a poll...)."""

    reason: str


def parse_update(update: Any) -> CustomerMessage | Skipped:
    if not isinstance(update, dict):
        raise MalformedUpdate("the body must be a JSON object (a Telegram Update)")
    if not _is_int(update.get("update_id")):
        raise MalformedUpdate("update_id is missing or not an integer")
    kind = next((k for k in MESSAGE_KINDS if k in update), None)
    if kind is None:
        others = sorted(k for k in update if k != "update_id")
        return Skipped(f"update type {', '.join(others) or 'none'} is not handled")
    message = update[kind]
    if not isinstance(message, dict):
        raise MalformedUpdate(f"{kind} must be an object")
    message_id = message.get("message_id")
    chat = message.get("chat")
    if not _is_int(message_id):
        raise MalformedUpdate(f"{kind}.message_id is missing or not an integer")
    if not isinstance(chat, dict) or not _is_int(chat.get("id")):
        raise MalformedUpdate(f"{kind}.chat.id is missing or not an integer")
    sender = message.get("from")
    if sender is None:
        return Skipped("a message without a sender (a channel post)")
    if not isinstance(sender, dict) or not _is_int(sender.get("id")):
        raise MalformedUpdate(f"{kind}.from.id is missing or not an integer")
    if sender.get("is_bot") is True:
        return Skipped("a message from a bot")

    provider_id = f"{chat['id']}:{message_id}"
    meta: dict[str, Any] = {
        "telegram": {
            "update_id": update["update_id"],
            "chat_id": chat["id"],
            "chat_type": _text(chat.get("type")),
            "message_id": message_id,
            "username": _text(sender.get("username")),
            "language_code": _text(sender.get("language_code")),
        }
    }
    if chat.get("title") is not None:
        meta["telegram"]["chat_title"] = _text(chat.get("title"))
    if kind == "edited_message":
        edit_date = message.get("edit_date")
        meta["telegram"]["edited"] = True
        meta["telegram"]["original_provider_id"] = provider_id
        provider_id = f"{provider_id}:edited:{edit_date if _is_int(edit_date) else 0}"

    text = _text(message.get("text")) or _text(message.get("caption")) or ""
    files = _files(message)
    if not text and not files:
        text = _placeholder(message)
    return CustomerMessage(
        provider_id=provider_id,
        sender_id=str(sender["id"]),
        sender_name=_display_name(sender),
        text=text,
        files=files,
        meta=meta,
    )


def _files(message: dict[str, Any]) -> tuple[FileRef, ...]:
    found: list[FileRef] = []
    photo = message.get("photo")
    if isinstance(photo, list) and photo:
        # Telegram sends one entry per size; the last is usually the largest, but say so.
        sizes = [p for p in photo if isinstance(p, dict) and isinstance(p.get("file_id"), str)]
        if sizes:
            largest = max(sizes, key=_photo_area)
            found.append(FileRef(largest["file_id"], None, "image/jpeg", "photo"))
    for kind, default_type in (
        ("document", None),
        ("video", "video/mp4"),
        ("audio", "audio/mpeg"),
        ("voice", "audio/ogg"),
    ):
        item = message.get(kind)
        if isinstance(item, dict) and isinstance(item.get("file_id"), str):
            found.append(
                FileRef(
                    item["file_id"],
                    _text(item.get("file_name")),
                    _text(item.get("mime_type")) or default_type,
                    kind,
                )
            )
    return tuple(found)


def _photo_area(size: dict[str, Any]) -> tuple[int, int]:
    width, height, file_size = size.get("width"), size.get("height"), size.get("file_size")
    area = width * height if isinstance(width, int) and isinstance(height, int) else 0
    return area, file_size if isinstance(file_size, int) else 0


def _placeholder(message: dict[str, Any]) -> str:
    """Something for the agent to read when the customer sent what we do not store."""
    sticker = message.get("sticker")
    if isinstance(sticker, dict):
        return f"[sticker {_text(sticker.get('emoji')) or ''}]".replace(" ]", "]")
    location = message.get("location")
    if isinstance(location, dict):
        return f"[location {location.get('latitude')}, {location.get('longitude')}]"
    contact = message.get("contact")
    if isinstance(contact, dict):
        name = " ".join(_text(contact.get(k)) or "" for k in ("first_name", "last_name")).strip()
        return f"[contact {name} {_text(contact.get('phone_number')) or ''}]".strip()
    known = sorted(k for k in message if k not in {"message_id", "from", "chat", "date"})
    return f"[unsupported Telegram message: {', '.join(known) or 'empty'}]"


def _display_name(sender: dict[str, Any]) -> str | None:
    full = " ".join(
        part for part in (_text(sender.get("first_name")), _text(sender.get("last_name"))) if part
    )
    if full:
        return full
    username = _text(sender.get("username"))
    return f"@{username}" if username else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
