"""Every integration's outbound senders, gathered in one explicit list."""

from __future__ import annotations

import httpx

from threadline.adapters.channels.base import OutboundAdapters
from threadline.config import Settings
from threadline.integrations.api import sender as api
from threadline.integrations.email import sender as email
from threadline.integrations.meta import sender as meta
from threadline.integrations.telegram import sender as telegram
from threadline.integrations.twilio import sender as twilio
from threadline.integrations.web_chat import sender as web_chat

SENDERS = (api, email, meta, telegram, twilio, web_chat)


def build_outbound_adapters(
    settings: Settings, client: httpx.AsyncClient | None = None
) -> OutboundAdapters:
    """The channels each integration sends on; channels nobody claims answer with a clear
    PermanentFailure (see adapters/channels/base.MissingAdapter)."""
    registry = OutboundAdapters()
    for sender in SENDERS:
        for channel, adapter in sender.outbound_adapters(settings, client).items():
            registry.register(channel, adapter)
    return registry
