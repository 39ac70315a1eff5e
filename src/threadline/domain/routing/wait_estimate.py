"""How long a waiting customer will probably wait, from the recent history of their channel.

The estimate is position * typical handling time / agents online, where the typical handling
time is the median time from assignment to release of the channel's latest finished
assignments. Why this one:
- per channel, because channels differ by orders of magnitude: an email is held for days
  while it waits on the customer, a chat takes minutes; mixing them told a chat visitor
  "303 min";
- the median, so that a few conversations left assigned overnight do not decide it;
- divided by the agents online of the conversation's team, because each of them works the queue off;
  it ignores that an agent may hold several chats at once, so it errs long, not short.
It says nothing (None) rather than something made up: with fewer than MIN_SAMPLES finished
assignments of the channel in the look-back, with nobody online to pick the conversation
up, or when the result exceeds the channel's cap (beyond it a number only misleads: no chat
visitor waits five hours, and so long a figure means the history is not today's staffing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from statistics import median

from threadline.domain.channels import Channel

# The latest finished assignments of a channel read, and how far back they may go.
SAMPLE_SIZE = 50
LOOK_BACK = timedelta(days=14)
MIN_SAMPLES = 5

# Channels a customer waits on live, watching the screen or the phone.
LIVE_CHANNELS = frozenset({Channel.WEB_CHAT, Channel.VOICE})
LIVE_CAP = timedelta(hours=1)
CAP = timedelta(days=2)


def estimate_cap(channel: Channel) -> timedelta:
    return LIVE_CAP if channel in LIVE_CHANNELS else CAP


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    # None: too little history, nobody online, or beyond the cap.
    wait: timedelta | None
    typical_handling: timedelta | None
    samples: int


def typical_handling_time(handling_times: Sequence[timedelta]) -> timedelta | None:
    if len(handling_times) < MIN_SAMPLES:
        return None
    return timedelta(seconds=median(h.total_seconds() for h in handling_times))


def estimate_wait(
    channel: Channel,
    position: int,
    agents_online: int,
    handling_times: Sequence[timedelta],
) -> WaitEstimate:
    typical = typical_handling_time(handling_times)
    samples = len(handling_times)
    if typical is None or agents_online < 1 or position < 1:
        return WaitEstimate(None, typical, samples)
    wait = typical * position / agents_online
    if wait > estimate_cap(channel):
        return WaitEstimate(None, typical, samples)
    return WaitEstimate(wait, typical, samples)
