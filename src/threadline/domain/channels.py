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


# The one place that says which channels carry a written reply. A call carries none (it is a
# conversation by voice; there is no text to send on it) and a contact form is inbound only.
TEXT_CHANNELS = frozenset(set(Channel) - {Channel.VOICE, Channel.FORM})

# Where a written answer goes when the customer last reached us on a channel that carries no
# text, in order of preference: a caller gets a text to the number they called from (SMS
# first: it reaches any phone and has no messaging window; WhatsApp when there is no SMS
# inbox and its 24-hour window is open); a form's sender gets an email.
TEXT_CHANNELS_FOR = {
    Channel.VOICE: (Channel.SMS, Channel.WHATSAPP),
    Channel.FORM: (Channel.EMAIL,),
}


def carries_text(channel: Channel) -> bool:
    return channel in TEXT_CHANNELS


def text_channels_for(channel: Channel) -> tuple[Channel, ...]:
    """The channels a written reply to a message on `channel` may go by, preferred first."""
    return TEXT_CHANNELS_FOR.get(channel, (channel,))


def no_text_reason(channel: Channel) -> str:
    """Why a written reply cannot go by `channel`, and where it can go instead."""
    instead = " or ".join(c.value for c in text_channels_for(channel))
    if channel is Channel.VOICE:
        return (
            f"a call carries no written reply: answer the caller by {instead} to the number "
            "they called from, or call them back"
        )
    return f"{channel.value} carries no written reply; answer by {instead}"


def reachable_channels(identity_kinds: set[IdentityKind]) -> list[Channel]:
    """Channels an agent may reply on in writing, given the kinds of identity the customer
    has: only channels that carry text (a call is answered by SMS or WhatsApp, a form by
    email)."""
    return [
        channel
        for channel, kind in IDENTITY_FOR_CHANNEL.items()
        if kind in identity_kinds and carries_text(channel)
    ]
