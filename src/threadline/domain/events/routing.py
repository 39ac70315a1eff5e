"""Events about routing: assignments made, offers to agents made and ended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from threadline.domain.events.base import (
    AssignmentView,
    DomainEvent,
    EventType,
    RoutingOfferView,
)


@dataclass(frozen=True, slots=True)
class AssignmentCreated(DomainEvent):
    type = EventType.ASSIGNMENT_CREATED
    conversation_in = ("assignment", "conversation_id")

    assignment: AssignmentView

    def payload(self) -> dict[str, Any]:
        return {"assignment": self.assignment}


@dataclass(frozen=True, slots=True)
class AssignmentOffered(DomainEvent):
    """A conversation was offered to an agent (offer mode), who may accept or decline."""

    type = EventType.ASSIGNMENT_OFFERED
    conversation_in = ("offer", "conversation_id")

    offer: RoutingOfferView

    def payload(self) -> dict[str, Any]:
        return {"offer": self.offer}


@dataclass(frozen=True, slots=True)
class AssignmentOfferEnded(DomainEvent):
    """An offer to an agent ended: accepted, declined, timed out or withdrawn (`why`)."""

    type = EventType.ASSIGNMENT_OFFER_ENDED
    conversation_in = ("offer", "conversation_id")

    offer: RoutingOfferView
    why: str

    def payload(self) -> dict[str, Any]:
        return {"offer": self.offer, "why": self.why}
