"""Twilio's voice parameters read as one call event: who called whom, in which direction,
with what status, and whether a person took it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from threadline.conversations import KNOWN_STATUSES, CallDirection, CallEvent
from threadline.integrations.twilio.webhook_requests import (
    MalformedPayload,
    TwilioRequest,
    required,
)

# <Dial> and <Enqueue> outcomes: a person took the call, or nobody did.
DIAL_ANSWERED = frozenset({"completed", "answered"})
DIAL_MISSED = frozenset({"busy", "no-answer", "failed", "canceled"})
QUEUE_MISSED = frozenset({"hangup", "leave", "queue-full", "error", "system-shutdown"})


def _direction(params: Mapping[str, str]) -> CallDirection | None:
    value = params.get("Direction", "").strip().lower()
    if not value:
        return None
    return CallDirection.OUTBOUND if value.startswith("outbound") else CallDirection.INBOUND


def _call_status(params: Mapping[str, str]) -> str | None:
    status = params.get("CallStatus", "").strip().lower() or None
    if status is not None and status not in KNOWN_STATUSES:
        raise MalformedPayload(f"unknown CallStatus {status!r}")
    return status


def call_event(hook: TwilioRequest, **extra: Any) -> CallEvent:
    params = hook.params
    (call_sid,) = required(params, "CallSid")
    return CallEvent(
        inbox_id=hook.inbox.id,
        call_id=call_sid,
        direction=_direction(params),
        from_number=params.get("From") or params.get("Caller") or None,
        to_number=params.get("To") or params.get("Called") or None,
        status=_call_status(params),
        **extra,
    )
