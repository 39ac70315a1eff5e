"""Channel rules checked before a reply is queued, so the agent hears "no" at once.

WhatsApp and Messenger only take free-form replies within 24 hours of the customer's
latest message there; after that WhatsApp takes an approved template and Messenger
nothing (see domain/messaging/messaging_windows.py). Refusing up front beats a message that fails
minutes later in the outbound worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.domain.channels import Channel
from threadline.domain.conversations import Direction
from threadline.domain.errors import ChannelNotAllowed
from threadline.domain.messaging.messaging_windows import (
    CHANNEL_NAMES,
    TEMPLATE_CHANNELS,
    MessagingWindow,
    closed_window_reason,
    messaging_window,
)


@dataclass(frozen=True, slots=True)
class ReplyTemplate:
    """An approved WhatsApp template: its name, language code and body parameters in order."""

    name: str
    language: str
    parameters: tuple[str, ...] = ()

    def as_meta(self) -> dict[str, Any]:
        return {"name": self.name, "language": self.language, "parameters": list(self.parameters)}


def approved_templates(inbox: t.Inbox) -> list[dict[str, Any]]:
    """The inbox's approved templates, from settings["templates"].

    Each entry is a name, or {"name", "language", "body"}; a template without a language
    is approved in every language.
    """
    listed = inbox.settings.get("templates") or []
    found: list[dict[str, Any]] = []
    if not isinstance(listed, list):
        return found
    for entry in listed:
        if isinstance(entry, str) and entry:
            found.append({"name": entry, "language": None})
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
            found.append(
                {
                    "name": entry["name"],
                    "language": entry.get("language"),
                    **({"body": entry["body"]} if isinstance(entry.get("body"), str) else {}),
                }
            )
    return found


async def last_inbound_at(
    session: AsyncSession, workspace_id: int, customer_id: int, inbox_id: int
) -> datetime | None:
    """The customer's latest own message to this inbox, across their conversations.

    The window belongs to the business number or page (the inbox), not to one matter.
    Automated messages never open it.
    """
    messages = (
        await session.execute(
            select(t.Message.created_at, t.Message.meta)
            .join(t.Conversation, t.Conversation.id == t.Message.conversation_id)
            .where(
                t.Message.workspace_id == workspace_id,
                t.Conversation.customer_id == customer_id,
                t.Message.inbox_id == inbox_id,
                t.Message.direction == Direction.INBOUND.value,
            )
            .order_by(t.Message.created_at.desc())
            .limit(20)
        )
    ).all()
    # Past twenty automated messages in a row (an auto-reply loop) we look no further.
    for created_at, meta in messages:
        if not (meta or {}).get("automated"):
            latest: datetime = created_at
            return latest
    return None


async def window_for(
    session: AsyncSession,
    workspace_id: int,
    customer_id: int,
    channel: Channel,
    inbox: t.Inbox,
    now: datetime,
) -> MessagingWindow:
    latest = await last_inbound_at(session, workspace_id, customer_id, inbox.id)
    return messaging_window(channel, latest, now)


def check_reply_allowed(
    window: MessagingWindow, inbox: t.Inbox, template: ReplyTemplate | None
) -> None:
    """Raise ChannelNotAllowed with a reason the agent can act on, or return quietly."""
    channel = window.channel
    if template is not None:
        if channel not in TEMPLATE_CHANNELS:
            raise ChannelNotAllowed(
                f"template messages can only be sent on WhatsApp, not {channel.value}"
            )
        approved = approved_templates(inbox)
        if not any(
            a["name"] == template.name and a["language"] in (None, template.language)
            for a in approved
        ):
            names = ", ".join(_template_label(a) for a in approved) or "none"
            raise ChannelNotAllowed(
                f"template {template.name!r} ({template.language}) is not approved for the "
                f"inbox {inbox.name!r}; approved templates: {names}"
            )
        return
    if window.applies and not window.open:
        raise ChannelNotAllowed(closed_window_reason(window))


def _template_label(approved: dict[str, Any]) -> str:
    return (
        f"{approved['name']} ({approved['language']})" if approved["language"] else approved["name"]
    )


def channel_rules(window: MessagingWindow, inbox: t.Inbox) -> dict[str, Any]:
    """What the reply box shows for one channel: can text go, and if not, why and what can."""
    templates = approved_templates(inbox) if window.channel in TEMPLATE_CHANNELS else []
    text_allowed = not window.applies or window.open
    rules: dict[str, Any] = {
        "window": {
            "applies": window.applies,
            "open": window.open,
            "closes_at": window.closes_at.isoformat() if window.closes_at else None,
            "length_hours": 24 if window.applies else None,
        },
        "text_allowed": text_allowed,
        "templates_allowed": window.channel in TEMPLATE_CHANNELS,
        "templates": templates,
        "reason": None if text_allowed else closed_window_reason(window),
    }
    if window.applies and window.open and window.closes_at is not None:
        name = CHANNEL_NAMES.get(window.channel, window.channel.value)
        rules["reason"] = (
            f"free-form {name} replies are possible until "
            f"{window.closes_at.isoformat(timespec='minutes')}"
        )
    return rules
