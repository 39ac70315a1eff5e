"""What every domain event has: its type, its audience, its conversation and its wire payload.

An event is a frozen record of what happened, emitted by a use-case (`uow.emit`) with typed
fields. Handlers in the same transaction read those fields; the wire form (`WireEvent`: the
type, audience and conversation as stored, and the payload dict that subscribers receive) is
built only when the event is written to the outbox.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, TypeAlias


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


# The API views events carry, as the use-cases build them (core/views.py and the capability
# packages): the documented wire shapes, so they are kept as the dicts they are.
View: TypeAlias = dict[str, Any]
ConversationView: TypeAlias = View  # conversation_view
ConversationScope: TypeAlias = View  # conversation_scope: {"id", "assignee_id", "team_id"}
MessageView: TypeAlias = View
CustomerView: TypeAlias = View
MergeView: TypeAlias = View
NoteView: TypeAlias = View
OfferView: TypeAlias = View  # an offer to a customer (customers/offers.py)
OrderView: TypeAlias = View
TaskView: TypeAlias = View
AgentView: TypeAlias = View
NotificationView: TypeAlias = View
ReopeningView: TypeAlias = View  # conversations/reopen.py: reopening_view
ClockView: TypeAlias = View  # an SLA clock (service_levels/clocks/views.py: clock_view)
SurveyView: TypeAlias = View  # a CSAT survey (csat/answers.py: survey_view)
AssignmentView: TypeAlias = View
RoutingOfferView: TypeAlias = View  # an offer to an agent (routing/events.py: offer_view)


@dataclass(frozen=True, slots=True)
class WireEvent:
    """An event as the outbox stores it and subscribers receive it."""

    type: str
    audience: str
    conversation_id: int | None
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DomainEvent(ABC):
    """One subclass per `EventType`, listed in `domain.events.EVENT_CLASSES`."""

    type: ClassVar[EventType]
    audience: ClassVar[Audience] = Audience.EVERYONE
    # Where the event's conversation id is: the field holding a view, and the view's key
    # (None: the event is about no one conversation).
    conversation_in: ClassVar[tuple[str, str] | None] = None

    @property
    def conversation_id(self) -> int | None:
        """The conversation the event is about, which decides who may see it (None: no one
        conversation, so everyone in the audience)."""
        if self.conversation_in is None:
            return None
        field, key = self.conversation_in
        return id_in(getattr(self, field), key)

    @abstractmethod
    def payload(self) -> dict[str, Any]:
        """The payload dict subscribers receive (keys in their documented order)."""

    def wire(self) -> WireEvent:
        return WireEvent(self.type.value, self.audience.value, self.conversation_id, self.payload())


def id_in(view: View, key: str) -> int | None:
    """An id a view carries (None when it has none)."""
    value = view.get(key)
    return value if isinstance(value, int) else None
