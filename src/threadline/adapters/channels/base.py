"""The outbound side of a channel adapter: one interface, one registry of who sends what."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Protocol, runtime_checkable

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


@dataclass(frozen=True, slots=True)
class Unconfirmed:
    """The request may have reached the provider, but its answer never reached us (a timeout
    after the request was written, a connection dropped before the answer): sending again
    could deliver the message twice."""

    reason: str


SendResult = Sent | RetryableFailure | PermanentFailure | Unconfirmed


class OutboundAdapter(Protocol):
    async def send(self, message: OutboundEnvelope) -> SendResult: ...


class InDoubt(Enum):
    """What a channel does about a send whose outcome we never learned."""

    # Send again: the far side drops a repeat by its key (API, email's Message-ID), or a
    # repeat is the lesser harm and nothing can tell us better (Telegram).
    RESEND = "resend"
    # Ask the provider whether it has the message before sending again (Twilio).
    LOOK_UP = "look_up"
    # Only the provider's delivery report can tell: hold until one names our key, or fail
    # with a reason at a deadline; never send again on our own (Meta).
    AWAIT_REPORT = "await_report"


@dataclass(frozen=True, slots=True)
class FoundAtProvider:
    """A message the provider has that matches ours; `failure` when it reports it failed."""

    provider_message_id: str
    failure: str | None = None


LookupResult = list[FoundAtProvider] | RetryableFailure | PermanentFailure


@runtime_checkable
class LooksUpSentMessages(Protocol):
    """An adapter that can ask its provider for the messages it already has like this one,
    sent since `since` (oldest first); an empty list means it has none."""

    async def find_sent(self, message: OutboundEnvelope, since: datetime) -> LookupResult: ...


def in_doubt_handling(adapter: object) -> InDoubt:
    if isinstance(adapter, LooksUpSentMessages):
        return InDoubt.LOOK_UP
    if getattr(adapter, "awaits_delivery_reports", False) is True:
        return InDoubt.AWAIT_REPORT
    return InDoubt.RESEND


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


async def get(
    client: httpx.AsyncClient | None, url: str, timeout_seconds: float, **kwargs: Any
) -> httpx.Response:
    """GET, like `post`: through the worker's shared client, or a short-lived one."""
    if client is not None:
        return await client.get(url, timeout=timeout_seconds, **kwargs)
    async with httpx.AsyncClient(timeout=timeout_seconds) as own:
        return await own.get(url, **kwargs)


def request_may_have_arrived(exc: httpx.TransportError) -> bool:
    """Whether a failed request may still have been received and acted on by the far side.

    Failing to connect (or to get a pooled connection, or an unusable URL) means nothing
    was sent. Anything later (a read timeout, a reset or close before the answer, even a
    failed write of the last bytes) leaves it unknown.
    """
    return not isinstance(
        exc,
        httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout | httpx.UnsupportedProtocol,
    )
