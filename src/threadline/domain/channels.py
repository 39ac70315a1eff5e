"""Channels and the identity kind each one reaches a customer through."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    VOICE = "voice"
    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"
    TELEGRAM = "telegram"
    WEB_CHAT = "web_chat"
    FORM = "form"
    API = "api"


class IdentityKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    MESSENGER = "messenger"
    TELEGRAM = "telegram"
    WEB_VISITOR = "web_visitor"
    EXTERNAL = "external"


# SMS, voice and WhatsApp share the phone identity: one number, one customer.
IDENTITY_FOR_CHANNEL: dict[Channel, IdentityKind] = {
    Channel.EMAIL: IdentityKind.EMAIL,
    Channel.SMS: IdentityKind.PHONE,
    Channel.VOICE: IdentityKind.PHONE,
    Channel.WHATSAPP: IdentityKind.PHONE,
    Channel.MESSENGER: IdentityKind.MESSENGER,
    Channel.TELEGRAM: IdentityKind.TELEGRAM,
    Channel.WEB_CHAT: IdentityKind.WEB_VISITOR,
    Channel.FORM: IdentityKind.EMAIL,
    Channel.API: IdentityKind.EXTERNAL,
}


def reachable_channels(identity_kinds: set[IdentityKind]) -> list[Channel]:
    """Channels an agent may reply on, given the kinds of identity the customer has.

    A contact form is inbound only: replies to a form go out by email.
    """
    return [
        channel
        for channel, kind in IDENTITY_FOR_CHANNEL.items()
        if kind in identity_kinds and channel is not Channel.FORM
    ]
