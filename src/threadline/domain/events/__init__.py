"""Domain events: what happened, recorded with the change and published after commit.

One frozen class per event type, grouped by what they are about:
- base.py            EventType, Audience, DomainEvent (the base), WireEvent, the view aliases
- conversations.py   conversation.created/updated, message.created/updated, agent.mentioned
- customers.py       customer.*, note.created, offer.*, order.*
- workspace.py       agent.updated, task.created/updated
- service_levels.py  sla.warning/breached/escalated, csat.recorded
- routing.py         assignment.created, assignment.offered/offer_ended

docs/events.md documents each one's payload.
"""

from __future__ import annotations

from threadline.domain.events.base import (
    Audience,
    DomainEvent,
    EventType,
    WireEvent,
)
from threadline.domain.events.conversations import (
    AgentMentioned,
    ConversationCreated,
    ConversationUpdated,
    MessageCreated,
    MessageUpdated,
)
from threadline.domain.events.customers import (
    CustomerCreated,
    CustomerMerged,
    CustomerUnmerged,
    CustomerUpdated,
    NoteCreated,
    OfferRecorded,
    OfferUpdated,
    OrderRecorded,
    OrderUpdated,
)
from threadline.domain.events.routing import (
    AssignmentCreated,
    AssignmentOffered,
    AssignmentOfferEnded,
)
from threadline.domain.events.service_levels import (
    CsatRecorded,
    SlaBreached,
    SlaEscalated,
    SlaWarning,
)
from threadline.domain.events.workspace import AgentUpdated, TaskCreated, TaskUpdated

# Every event class, in the order of EventType: exactly one per type.
EVENT_CLASSES: tuple[type[DomainEvent], ...] = (
    CustomerCreated,
    CustomerUpdated,
    CustomerMerged,
    CustomerUnmerged,
    ConversationCreated,
    ConversationUpdated,
    MessageCreated,
    MessageUpdated,
    NoteCreated,
    OfferRecorded,
    OfferUpdated,
    TaskCreated,
    TaskUpdated,
    AgentUpdated,
    SlaWarning,
    SlaBreached,
    SlaEscalated,
    CsatRecorded,
    AssignmentCreated,
    AgentMentioned,
    OrderRecorded,
    OrderUpdated,
    AssignmentOffered,
    AssignmentOfferEnded,
)

__all__ = [
    "EVENT_CLASSES",
    "AgentMentioned",
    "AgentUpdated",
    "AssignmentCreated",
    "AssignmentOfferEnded",
    "AssignmentOffered",
    "Audience",
    "ConversationCreated",
    "ConversationUpdated",
    "CsatRecorded",
    "CustomerCreated",
    "CustomerMerged",
    "CustomerUnmerged",
    "CustomerUpdated",
    "DomainEvent",
    "EventType",
    "MessageCreated",
    "MessageUpdated",
    "NoteCreated",
    "OfferRecorded",
    "OfferUpdated",
    "OrderRecorded",
    "OrderUpdated",
    "SlaBreached",
    "SlaEscalated",
    "SlaWarning",
    "TaskCreated",
    "TaskUpdated",
    "WireEvent",
]
