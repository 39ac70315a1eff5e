"""How a clock looks to clients: in the SLA report and in the sla.* events."""

from __future__ import annotations

from typing import Any

from threadline.adapters.db import tables as t
from threadline.core.views import iso

# Every state `_clock_state` can give a clock's view (pages translate each: sla.state_*).
CLOCK_STATES = ("running", "paused", "breached", "met", "missed", "cancelled")


def clock_view(clock: t.SlaClock) -> dict[str, Any]:
    return {
        "id": clock.id,
        "kind": clock.kind,
        "policy_id": clock.policy_id,
        "calendar_id": clock.calendar_id,
        "target_seconds": clock.target_seconds,
        "started_at": iso(clock.started_at),
        "due_at": iso(clock.due_at),
        "paused_at": iso(clock.paused_at),
        "paused_working_seconds": clock.paused_seconds,
        "stopped_at": iso(clock.stopped_at),
        "warned_at": iso(clock.warned_at),
        "breached_at": iso(clock.breached_at),
        "met": clock.met,
        "elapsed_seconds": clock.elapsed_seconds,
        "working_seconds": clock.working_seconds,
        "state": _clock_state(clock),
    }


def _clock_state(clock: t.SlaClock) -> str:
    if clock.stopped_at is not None:
        if clock.met is None:
            return "cancelled"
        return "met" if clock.met else "missed"
    if clock.paused_at is not None:
        return "paused"
    return "breached" if clock.breached_at is not None else "running"
