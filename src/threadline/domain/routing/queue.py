"""Order of waiting work: priority first (rising the longer work waits), then the channel
(a caller on the line before an email at the same priority), then age."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from threadline.domain.channels import Channel
from threadline.domain.conversations import Priority

PRIORITY_RANK: Mapping[Priority, int] = {
    Priority.LOW: 0,
    Priority.NORMAL: 1,
    Priority.HIGH: 2,
    Priority.URGENT: 3,
}
# Calls and callbacks before chat, chat before written channels: the customer is waiting live.
DEFAULT_CHANNEL_BOOST: Mapping[Channel, int] = {
    Channel.VOICE: 2,
    Channel.WEB_CHAT: 1,
    Channel.WHATSAPP: 1,
    Channel.MESSENGER: 1,
    Channel.TELEGRAM: 1,
}


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    # Every this long a waiting item climbs one priority step (None: never).
    aging_step: timedelta | None = timedelta(minutes=15)
    max_aging_steps: int = 3
    channel_boost: Mapping[Channel, int] = field(
        default_factory=lambda: dict(DEFAULT_CHANNEL_BOOST)
    )


@dataclass(frozen=True, slots=True)
class Waiting:
    conversation_id: int
    priority: Priority
    channel: Channel
    waiting_since: datetime


def effective_priority(item: Waiting, now: datetime, policy: QueuePolicy) -> int:
    rank = PRIORITY_RANK[item.priority]
    if policy.aging_step is not None and policy.aging_step > timedelta(0):
        steps = int((now - item.waiting_since) / policy.aging_step)
        rank += min(max(steps, 0), policy.max_aging_steps)
    return rank


def queue_order(items: list[Waiting], now: datetime, policy: QueuePolicy) -> list[Waiting]:
    return sorted(
        items,
        key=lambda i: (
            -effective_priority(i, now, policy),
            -policy.channel_boost.get(i.channel, 0),
            i.waiting_since,
            i.conversation_id,
        ),
    )
