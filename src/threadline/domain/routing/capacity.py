"""Agent capacity: one load budget shared across channels, plus per-channel limits.

E.g. a budget of 100 where a chat costs 25, an email 20 and a call 100 allows three chats and
one email at once, or one call and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from threadline.domain.bounds import MAX_COUNT
from threadline.domain.channels import Channel
from threadline.domain.errors import DomainError

DEFAULT_BUDGET = 100
DEFAULT_COSTS: Mapping[Channel, int] = {
    Channel.VOICE: 100,
    Channel.WEB_CHAT: 25,
    Channel.WHATSAPP: 25,
    Channel.MESSENGER: 25,
    Channel.TELEGRAM: 25,
    Channel.SMS: 20,
    Channel.EMAIL: 20,
    Channel.FORM: 20,
    Channel.API: 20,
}


@dataclass(frozen=True, slots=True)
class Capacity:
    budget: int = DEFAULT_BUDGET
    costs: Mapping[Channel, int] = field(default_factory=lambda: dict(DEFAULT_COSTS))
    # At most this many conversations of a channel at once, whatever the budget says.
    channel_limits: Mapping[Channel, int] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Capacity:
        """From an agent's (or team's) stored capacity settings; unknown keys are ignored."""
        costs = dict(DEFAULT_COSTS)
        costs.update({Channel(k): int(v) for k, v in dict(settings.get("costs", {})).items()})
        limits = {Channel(k): int(v) for k, v in dict(settings.get("channel_limits", {})).items()}
        return cls(
            budget=int(settings.get("budget", DEFAULT_BUDGET)), costs=costs, channel_limits=limits
        )

    def cost(self, channel: Channel) -> int:
        return self.costs.get(channel, DEFAULT_COSTS.get(channel, 20))

    def load(self, open_work: Mapping[Channel, int]) -> int:
        return sum(self.cost(channel) * count for channel, count in open_work.items())

    def can_take(self, open_work: Mapping[Channel, int], channel: Channel) -> bool:
        limit = self.channel_limits.get(channel)
        if limit is not None and open_work.get(channel, 0) >= limit:
            return False
        return self.load(open_work) + self.cost(channel) <= self.budget

    def free_share(self, open_work: Mapping[Channel, int]) -> float:
        """How much of the budget is free, 0..1; used to prefer the less busy agent."""
        if self.budget <= 0:
            return 0.0
        return max(0.0, 1.0 - self.load(open_work) / self.budget)


CAPACITY_KEYS = ("budget", "costs", "channel_limits")


def with_team_default(
    agent_settings: Mapping[str, Any] | None, team_settings: Mapping[str, Any] | None
) -> dict[str, Any]:
    """An agent's capacity settings with their team's filling what the agent has not set
    (key by key: a team budget with the agent's own chat limit is fine)."""
    merged = {k: v for k, v in (team_settings or {}).items() if k in CAPACITY_KEYS}
    merged.update({k: v for k, v in (agent_settings or {}).items() if k in CAPACITY_KEYS})
    return merged


def check_capacity_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Validated capacity settings (budget, costs, channel_limits); ValueError names the
    problem."""
    checked: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in CAPACITY_KEYS:
            raise DomainError(f"unknown capacity setting {key!r}; use {list(CAPACITY_KEYS)}")
        if key == "budget":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COUNT:
                raise DomainError(f"capacity budget must be a whole number from 0 to {MAX_COUNT}")
            checked[key] = value
            continue
        if not isinstance(value, Mapping):
            raise DomainError(f"capacity {key} must map channels to whole numbers")
        per_channel: dict[str, int] = {}
        for channel, amount in value.items():
            if channel not in Channel._value2member_map_:
                raise DomainError(f"capacity {key}: unknown channel {channel!r}")
            if (
                not isinstance(amount, int)
                or isinstance(amount, bool)
                or not 0 <= amount <= MAX_COUNT
            ):
                raise DomainError(
                    f"capacity {key}.{channel} must be a whole number from 0 to {MAX_COUNT}"
                )
            per_channel[channel] = amount
        checked[key] = per_channel
    return checked
