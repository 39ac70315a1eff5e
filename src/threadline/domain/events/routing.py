"""Events about routing: assignments made, offers to agents made and ended."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from threadline.domain.events.base import (
    AssignmentView,
    DomainEvent,
    EventType,
    RoutingOfferView,
    id_in,
)


@dataclass(frozen=True, slots=True)
class AssignmentCreated(DomainEvent):
    type = EventType.ASSIGNMENT_CREATED

    assignment: AssignmentView

    @property
    def conversation_id(self) -> int | None:
        return id_in(self.assignment, "conversation_id")

    def payload(self) -> dict[str, Any]:
        return {"assignment": self.assignment}


@dataclass(frozen=True, slots=True)
class AssignmentOffered(DomainEvent):
    """A conversation was offered to an agent (offer mode), who may accept or decline."""

    type = EventType.ASSIGNMENT_OFFERED

    offer: RoutingOfferView

    @property
    def conversation_id(self) -> int | None:
        return id_in(self.offer, "conversation_id")

    def payload(self) -> dict[str, Any]:
        return {"offer": self.offer}


@dataclass(frozen=True, slots=True)
class AssignmentOfferEnded(DomainEvent):
    """An offer to an agent ended: accepted, declined, timed out or withdrawn (`why`)."""

    type = EventType.ASSIGNMENT_OFFER_ENDED

    offer: RoutingOfferView
    why: str

    @property
    def conversation_id(self) -> int | None:
        return id_in(self.offer, "conversation_id")

    def payload(self) -> dict[str, Any]:
        return {"offer": self.offer, "why": self.why}
