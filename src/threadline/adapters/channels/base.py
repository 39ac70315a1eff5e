"""The outbound side of a channel adapter: one interface, one registry of who sends what."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx

from threadline.domain.channels import Channel


@dataclass(frozen=True, slots=True)
class OutboundEnvelope:
    """Everything an adapter needs to send one reply; it never touches the database."""

    workspace_id: int
    message_id: int
    conversation_id: int
    channel: Channel
    inbox_id: int
    # The customer's normalised address on this channel (email, E.164 phone, external id).
    recipient: str | None
    text: str
    author_name: str | None
    author_photo_url: str | None
    created_at: datetime
    # Same key on every attempt for this message, so the far side can drop duplicates.
    idempotency_key: str
    # Both kept out of repr so an envelope can be logged without leaking the signing secret
    # or the passwords and tokens among the settings.
    inbox_settings: Mapping[str, Any] = field(default_factory=dict, repr=False)
    inbox_secret: str | None = field(default=None, repr=False)
    # An approved template to send instead of free text (WhatsApp): name, language, parameters.
    template: Mapping[str, Any] | None = None
    # Email: the inbox's address and name (From), the conversation's subject, and the
    # thread headers (In-Reply-To, References) that make the customer's client thread it.
    from_address: str | None = None
    inbox_name: str | None = None
    subject: str | None = None
    thread_headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Sent:
    provider_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class RetryableFailure:
    """The channel may accept the message later (timeout, 5xx, rate limit)."""

    reason: str


@dataclass(frozen=True, slots=True)
class PermanentFailure:
    """Trying again will not help (rejected request, missing configuration)."""

    reason: str


SendResult = Sent | RetryableFailure | PermanentFailure


class OutboundAdapter(Protocol):
    async def send(self, message: OutboundEnvelope) -> SendResult: ...


class MissingAdapter:
    """Stands in for a channel whose sender is not written yet, so the agent sees why."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def send(self, message: OutboundEnvelope) -> SendResult:
        return PermanentFailure(f"no outbound adapter for channel {self.channel} yet")


class OutboundAdapters:
    """Maps each channel to the adapter that sends on it."""

    def __init__(self, adapters: Mapping[Channel, OutboundAdapter] | None = None) -> None:
        self._adapters: dict[Channel, OutboundAdapter] = dict(adapters or {})

    def register(self, channel: Channel, adapter: OutboundAdapter) -> None:
        self._adapters[channel] = adapter

    def for_channel(self, channel: str) -> OutboundAdapter:
        try:
            return self._adapters[Channel(channel)]
        except (KeyError, ValueError):
            return MissingAdapter(channel)

    def channels(self) -> list[Channel]:
        return list(self._adapters)


async def post(
    client: httpx.AsyncClient | None, url: str, timeout_seconds: float, **kwargs: Any
) -> httpx.Response:
    """POST through the worker's shared client, or a short-lived one when none was given
    (an adapter used on its own). Transport errors are left to the adapter to classify."""
    if client is not None:
        return await client.post(url, timeout=timeout_seconds, **kwargs)
    async with httpx.AsyncClient(timeout=timeout_seconds) as own:
        return await own.post(url, **kwargs)
