"""Messaging windows: how long after a customer's last message a business may write freely.

WhatsApp and Messenger allow free-form replies only within 24 hours of the customer's
latest message on that channel (the "customer service window"). After it, WhatsApp accepts
only pre-approved template messages and Messenger accepts nothing we send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from threadline.domain.channels import Channel

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)

WINDOWED_CHANNELS: dict[Channel, timedelta] = {
    Channel.WHATSAPP: CUSTOMER_SERVICE_WINDOW,
    Channel.MESSENGER: CUSTOMER_SERVICE_WINDOW,
}

# Channels where an approved template may be sent once the window has closed.
TEMPLATE_CHANNELS = frozenset({Channel.WHATSAPP})

CHANNEL_NAMES = {Channel.WHATSAPP: "WhatsApp", Channel.MESSENGER: "Messenger"}


@dataclass(frozen=True, slots=True)
class MessagingWindow:
    channel: Channel
    # False for channels without a window (email, SMS, ...): they are always open.
    applies: bool
    open: bool
    closes_at: datetime | None


def messaging_window(
    channel: Channel, last_inbound_at: datetime | None, now: datetime
) -> MessagingWindow:
    """The window on `channel`, given the customer's latest message on it (None: never wrote)."""
    length = WINDOWED_CHANNELS.get(channel)
    if length is None:
        return MessagingWindow(channel, applies=False, open=True, closes_at=None)
    if last_inbound_at is None:
        return MessagingWindow(channel, applies=True, open=False, closes_at=None)
    closes_at = last_inbound_at + length
    return MessagingWindow(channel, applies=True, open=now < closes_at, closes_at=closes_at)


def closed_window_reason(window: MessagingWindow) -> str:
    """What the agent is told when a free-form reply is refused."""
    name = CHANNEL_NAMES.get(window.channel, window.channel.value)
    if window.closes_at is None:
        opening = f"the customer has not written on {name} yet, so no {name} window is open"
    else:
        opening = (
            f"the {name} 24-hour window closed at {window.closes_at.isoformat(timespec='minutes')}"
        )
    if window.channel in TEMPLATE_CHANNELS:
        return f"{opening}; send an approved template instead"
    return f"{opening}; {name} allows no reply until the customer writes again"
