"""The API channel: replies are POSTed, signed, to the app's webhook URL.

The webhook_url is a workspace's choice, so it is posted through a checking client
(adapters/egress/http.py): an address the installation does not allow fails the reply at
once with the reason, and redirects are not followed.
The scheme is documented for app developers in docs/channels/api.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from threadline.adapters.channels.base import (
    OutboundAdapter,
    OutboundEnvelope,
    PermanentFailure,
    RetryableFailure,
    SendResult,
    Sent,
)
from threadline.adapters.egress.http import checked_client
from threadline.config import Settings
from threadline.domain.channels import Channel
from threadline.domain.security.egress import EgressPolicy, EgressRefused
from threadline.domain.security.signatures import presented_matches

EVENT_NAME = "message.created"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
# Statuses that mean "not now" rather than "never".
RETRYABLE_STATUSES = frozenset({408, 425, 429})
BODY_EXCERPT_CHARS = 200


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of `<timestamp>.<raw body>` keyed with the inbox secret."""
    signed = timestamp.encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes | str,
    header: str,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    *,
    now: float | None = None,
) -> bool:
    """True when `header` (X-Threadline-Signature) signs this body at this timestamp.

    The header may carry several comma-separated `v1=` values (during a secret rotation);
    any match is enough. A timestamp further than `tolerance` seconds from now is refused,
    so a captured request cannot be replayed later.
    """
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance:
        return False
    raw = body.encode("utf-8") if isinstance(body, str) else body
    expected = sign(secret, timestamp, raw)
    for part in header.split(","):
        version, _, value = part.strip().partition("=")
        if version == SIGNATURE_VERSION and presented_matches(value, expected):
            return True
    return False


def reply_payload(message: OutboundEnvelope) -> dict[str, Any]:
    return {
        "event": EVENT_NAME,
        "idempotency_key": message.idempotency_key,
        "workspace_id": message.workspace_id,
        "inbox_id": message.inbox_id,
        "conversation_id": message.conversation_id,
        "message": {
            "id": message.message_id,
            "channel": message.channel.value,
            "text": message.text,
            "created_at": message.created_at.isoformat(),
        },
        "recipient": {"kind": "external", "value": message.recipient},
        "author": {"name": message.author_name, "photo_url": message.author_photo_url},
    }


class ApiChannelAdapter:
    """Sends replies to the app behind an API inbox."""

    def __init__(self, timeout_seconds: float, egress: EgressPolicy) -> None:
        self.timeout_seconds = timeout_seconds
        self.egress = egress

    async def send(self, message: OutboundEnvelope) -> SendResult:
        url = message.inbox_settings.get("webhook_url")
        if not isinstance(url, str) or not url.strip():
            return PermanentFailure(
                f"API inbox {message.inbox_id} has no webhook_url setting to deliver replies to"
            )
        if not message.inbox_secret:
            return PermanentFailure(f"API inbox {message.inbox_id} has no signing secret")
        body = json.dumps(reply_payload(message), separators=(",", ":")).encode("utf-8")
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Threadline-Webhook/1",
            "X-Threadline-Event": EVENT_NAME,
            "X-Threadline-Timestamp": timestamp,
            "X-Threadline-Signature": f"{SIGNATURE_VERSION}={sign(message.inbox_secret, timestamp, body)}",
            "Idempotency-Key": message.idempotency_key,
        }
        try:
            # A client per send: the worker's shared client is for the operator's providers
            # and checks nothing.
            async with checked_client(self.egress, self.timeout_seconds) as client:
                response = await client.post(url, content=body, headers=headers)
        except EgressRefused as exc:
            return PermanentFailure(f"webhook_url refused: {exc.reason}")
        except httpx.TimeoutException:
            return RetryableFailure(f"the app did not answer within {self.timeout_seconds:g}s")
        except httpx.InvalidURL as exc:
            return PermanentFailure(f"the webhook_url is not a valid URL: {exc}")
        except httpx.UnsupportedProtocol as exc:
            return PermanentFailure(f"the webhook_url is not an http(s) URL: {exc}")
        except httpx.TransportError as exc:
            return RetryableFailure(f"could not reach the app: {type(exc).__name__}: {exc}")
        return _classify(response)


def _classify(response: httpx.Response) -> SendResult:
    status = response.status_code
    if 200 <= status < 300:
        return Sent(_provider_id(response))
    excerpt = " ".join(response.text[:BODY_EXCERPT_CHARS].split())
    reason = f"the app answered HTTP {status}" + (f": {excerpt}" if excerpt else "")
    if status in RETRYABLE_STATUSES or status >= 500:
        return RetryableFailure(reason)
    return PermanentFailure(reason)


def _provider_id(response: httpx.Response) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    if isinstance(data, dict):
        value = data.get("id")
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)[:300]
    return None


def outbound_adapters(
    settings: Settings, client: httpx.AsyncClient | None
) -> dict[Channel, OutboundAdapter]:
    """Registers this adapter with the outbound worker (see entrypoints/outbound_worker.py)."""
    return {
        Channel.API: ApiChannelAdapter(settings.outbound_timeout_seconds, settings.egress_policy())
    }
