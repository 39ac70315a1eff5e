"""The one inbound shape every channel adapter produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from threadline.domain.channels import Channel, IdentityKind


@dataclass(frozen=True, slots=True)
class SenderIdentity:
    kind: IdentityKind
    value: str


@dataclass(frozen=True, slots=True)
class InboundMessage:
    inbox_id: int
    sender: SenderIdentity
    text: str = ""
    # The channel defaults to the inbox's; a phone-number inbox may carry SMS and voice.
    channel: Channel | None = None
    sender_name: str | None = None
    html: str | None = None
    subject: str | None = None
    attachments: tuple[dict[str, Any], ...] = ()
    provider_message_id: str | None = None
    # Provider ids of earlier messages this one answers (email In-Reply-To / References).
    thread_refs: tuple[str, ...] = ()
    # A conversation the channel names directly (an email sent to a per-conversation reply
    # address). Treated like a thread reference: it wins if it is this customer's.
    thread_conversation_id: int | None = None
    # Further addresses the sender gave (a form with email and phone), attached when new.
    other_identities: tuple[SenderIdentity, ...] = ()
    call: dict[str, Any] | None = None
    # Auto-replies, out-of-office notices and bounces: recorded on the customer's matter, but
    # they never re-open it, re-route it or count as the customer writing (SLA clocks).
    automated: bool = False
    meta: dict[str, Any] = field(default_factory=dict)
