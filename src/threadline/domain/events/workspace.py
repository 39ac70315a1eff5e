"""Events about the workspace's people and planned work: agents and tasks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from threadline.domain.events.base import AgentView, DomainEvent, EventType, TaskView, id_in


@dataclass(frozen=True, slots=True)
class AgentUpdated(DomainEvent):
    """An agent was added or changed (profile, presence, teams)."""

    type = EventType.AGENT_UPDATED

    agent: AgentView
    # Why, when the agent did not change it themselves ("missed 3 offers in a row").
    why: str | None = None

    @property
    def agent_id(self) -> int | None:
        return id_in(self.agent, "id")

    @property
    def presence(self) -> str | None:
        presence = self.agent.get("presence")
        return presence if isinstance(presence, str) else None

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"agent": self.agent}
        if self.why is not None:
            payload["why"] = self.why
        return payload


@dataclass(frozen=True, slots=True)
class TaskCreated(DomainEvent):
    type = EventType.TASK_CREATED

    task: TaskView

    @property
    def task_id(self) -> int | None:
        return id_in(self.task, "id")

    def payload(self) -> dict[str, Any]:
        return {"task": self.task}


@dataclass(frozen=True, slots=True)
class TaskUpdated(DomainEvent):
    """A task was completed, cancelled, re-planned, reassigned or edited, or fell due."""

    type = EventType.TASK_UPDATED

    task: TaskView
    # "follow_up_due" when its due time brought the conversation back (follow_ups/due.py).
    reason: str | None = None

    @property
    def task_id(self) -> int | None:
        return id_in(self.task, "id")

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"task": self.task}
        if self.reason is not None:
            payload["reason"] = self.reason
        return payload
