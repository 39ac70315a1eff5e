"""AgentState builders for the routing domain tests: an ordinary online agent, then overrides."""

from __future__ import annotations

from datetime import datetime, timedelta

from threadline.domain.channels import Channel
from threadline.domain.routing.capacity import Capacity
from threadline.domain.routing.scoring import AgentState


def agent_state(agent_id: int, name: str, now: datetime, **overrides: object) -> AgentState:
    """Online on every channel at competence 5, no skills, idle for five minutes by `now`."""
    values: dict[str, object] = {
        "agent_id": agent_id,
        "name": name,
        "online": True,
        "available_channels": None,
        "skills": {},
        "competences": {channel: 5 for channel in Channel},
        "languages": frozenset({"pl", "en"}),
        "capacity": Capacity(),
        "open_work": {},
        "idle_since": now - timedelta(minutes=5),
        "past_contacts": (),
    }
    values.update(overrides)
    return AgentState(**values)  # type: ignore[arg-type]
