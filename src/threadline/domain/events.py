"""Domain events: what happened, recorded with the change and published after commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_UPDATED = "customer.updated"
    CUSTOMER_MERGED = "customer.merged"
    CUSTOMER_UNMERGED = "customer.unmerged"
    CONVERSATION_CREATED = "conversation.created"
    CONVERSATION_UPDATED = "conversation.updated"
    MESSAGE_CREATED = "message.created"
    MESSAGE_UPDATED = "message.updated"
    NOTE_CREATED = "note.created"
    OFFER_RECORDED = "offer.recorded"
    OFFER_UPDATED = "offer.updated"
    TASK_CREATED = "task.created"
    TASK_UPDATED = "task.updated"
    AGENT_UPDATED = "agent.updated"
    SLA_WARNING = "sla.warning"
    SLA_BREACHED = "sla.breached"
    SLA_ESCALATED = "sla.escalated"
    CSAT_RECORDED = "csat.recorded"
    ASSIGNMENT_CREATED = "assignment.created"
    AGENT_MENTIONED = "agent.mentioned"
    ORDER_RECORDED = "order.recorded"
    ORDER_UPDATED = "order.updated"
    ASSIGNMENT_OFFERED = "assignment.offered"
    ASSIGNMENT_OFFER_ENDED = "assignment.offer_ended"


class Audience(StrEnum):
    EVERYONE = "everyone"
    ADMINS = "admins"
    # One agent only: the one named by payload["agent_id"] (e.g. the agent a note mentions).
    AGENT = "agent"


@dataclass(slots=True)
class DomainEvent:
    type: EventType
    payload: dict[str, Any]
    conversation_id: int | None = None
    audience: Audience = Audience.EVERYONE
    # Filled in when the event is written to the outbox.
    seq: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
