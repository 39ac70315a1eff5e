"""The ways one matter travels between channels in the demo: each journey is the order of
channels it took, who spoke on each and, for a call, how the call went."""

from __future__ import annotations

from datetime import timedelta

from threadline.domain.channels import Channel, IdentityKind

# A journey is the order of channels one matter took: (channel, who, call outcome).
Leg = tuple[Channel, str, str | None]

LONGEST_JOURNEY = timedelta(hours=36)
# A journey with a WhatsApp or Messenger answer: inside those channels' 24-hour window.
WHATSAPP_JOURNEY = timedelta(hours=20)
C, A = "customer", "agent"
JOURNEYS: list[tuple[frozenset[IdentityKind], list[Leg]]] = [
    (
        frozenset({IdentityKind.WEB_VISITOR}),
        [
            (Channel.VOICE, C, "answered"),
            (Channel.EMAIL, A, None),
            (Channel.EMAIL, C, None),
            (Channel.WEB_CHAT, C, None),
            (Channel.WEB_CHAT, A, None),
        ],
    ),
    (
        frozenset(),
        [
            (Channel.VOICE, C, "answered"),
            (Channel.EMAIL, A, None),
            (Channel.EMAIL, C, None),
            (Channel.EMAIL, A, None),
        ],
    ),
    (
        frozenset(),
        [
            (Channel.VOICE, C, "missed"),
            (Channel.SMS, A, None),
            (Channel.SMS, C, None),
            (Channel.VOICE, C, "answered"),
        ],
    ),
    (
        frozenset(),
        [
            (Channel.EMAIL, C, None),
            (Channel.EMAIL, A, None),
            (Channel.WHATSAPP, C, None),
            (Channel.WHATSAPP, A, None),
        ],
    ),
    (
        frozenset({IdentityKind.WEB_VISITOR}),
        [
            (Channel.WEB_CHAT, C, None),
            (Channel.WEB_CHAT, A, None),
            (Channel.EMAIL, C, None),
            (Channel.EMAIL, A, None),
            (Channel.VOICE, C, "answered"),
        ],
    ),
    (
        frozenset(),
        [
            (Channel.WHATSAPP, C, None),
            (Channel.WHATSAPP, A, None),
            (Channel.VOICE, C, "voicemail"),
            (Channel.SMS, A, None),
        ],
    ),
    (
        frozenset({IdentityKind.MESSENGER}),
        [
            (Channel.MESSENGER, C, None),
            (Channel.MESSENGER, A, None),
            (Channel.EMAIL, C, None),
            (Channel.EMAIL, A, None),
        ],
    ),
    (
        frozenset({IdentityKind.EXTERNAL}),
        [
            (Channel.API, C, None),
            (Channel.EMAIL, A, None),
            (Channel.EMAIL, C, None),
            (Channel.VOICE, C, "answered"),
            (Channel.EMAIL, A, None),
        ],
    ),
    (
        frozenset(),
        [
            (Channel.SMS, C, None),
            (Channel.SMS, A, None),
            (Channel.EMAIL, C, None),
            (Channel.EMAIL, A, None),
        ],
    ),
    (frozenset(), [(Channel.EMAIL, C, None), (Channel.EMAIL, A, None)]),
]
