"""The web-chat channel's outbound side: nothing to hand over.

A reply to a web-chat visitor is stored and its event published in the reply's own
transaction; the visitor's socket streams it live or back-fills it from the event table
when the visitor comes back. So the durable job has nothing left to do but to mark the
message sent: there is no provider in between to deliver it.
"""

from __future__ import annotations

import httpx

from threadline.adapters.channels.base import OutboundAdapter, OutboundEnvelope, SendResult, Sent
from threadline.config import Settings
from threadline.domain.channels import Channel


class WebChatAdapter:
    async def send(self, message: OutboundEnvelope) -> SendResult:
        return Sent(provider_message_id=None)


def outbound_adapters(
    settings: Settings, client: httpx.AsyncClient | None
) -> dict[Channel, OutboundAdapter]:
    return {Channel.WEB_CHAT: WebChatAdapter()}
