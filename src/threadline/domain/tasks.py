"""Planned work: follow-ups and callbacks, and how their status may change."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from threadline.domain.errors import Conflict


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class TaskKind(StrEnum):
    FOLLOW_UP = "follow_up"
    CALLBACK = "callback"


def is_overdue(status: TaskStatus, due_at: datetime, now: datetime) -> bool:
    """Open work past its due time; finished tasks are never overdue."""
    return status is TaskStatus.OPEN and due_at < now


def check_task_editable(status: TaskStatus) -> None:
    # A finished task is history: re-planning it would hide what actually happened.
    if status is not TaskStatus.OPEN:
        raise Conflict(f"the task is {status.value} and can no longer be changed")
