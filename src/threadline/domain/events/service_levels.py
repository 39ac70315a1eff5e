"""Events about the service given: SLA stages reached, escalations, CSAT answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from threadline.domain.csat import AnswerDecision
from threadline.domain.events.base import (
    ClockView,
    ConversationScope,
    DomainEvent,
    EventType,
    SurveyView,
)


@dataclass(frozen=True, slots=True)
class _SlaStageReached(DomainEvent):
    conversation_in = ("conversation", "id")

    clock: ClockView
    # The policy's name (None when the clock's policy is gone) and the stage's escalation
    # actions, which run next.
    policy: str | None
    actions: list[str]
    conversation: ConversationScope

    def payload(self) -> dict[str, Any]:
        return {
            "clock": self.clock,
            "policy": self.policy,
            "actions": self.actions,
            "conversation": self.conversation,
        }


@dataclass(frozen=True, slots=True)
class SlaWarning(_SlaStageReached):
    """A running clock reached its policy's warning ratio of the target."""

    type = EventType.SLA_WARNING


@dataclass(frozen=True, slots=True)
class SlaBreached(_SlaStageReached):
    """A running clock passed its deadline."""

    type = EventType.SLA_BREACHED


@dataclass(frozen=True, slots=True)
class SlaEscalated(DomainEvent):
    """An escalation action that tells people: whom to notify, by role and by agent."""

    type = EventType.SLA_ESCALATED
    conversation_in = ("conversation", "id")

    action: str
    stage: str  # "warning" or "breach"
    notify_roles: list[str]
    notify_agent_ids: list[int]
    clock: ClockView
    conversation: ConversationScope

    def payload(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "stage": self.stage,
            "notify": {"roles": self.notify_roles, "agent_ids": self.notify_agent_ids},
            "clock": self.clock,
            "conversation": self.conversation,
        }


@dataclass(frozen=True, slots=True)
class CsatRecorded(DomainEvent):
    """A survey answer was recorded, or replaced a first one (`decision`)."""

    type = EventType.CSAT_RECORDED
    conversation_in = ("csat", "conversation_id")

    csat: SurveyView
    decision: AnswerDecision

    def payload(self) -> dict[str, Any]:
        return {"csat": self.csat, "decision": self.decision.value}
