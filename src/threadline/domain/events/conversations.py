"""Events about conversations and their timeline: the matter itself, its messages, mentions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from threadline.domain.conversations import Direction, Placement
from threadline.domain.events.base import (
    Audience,
    ConversationScope,
    ConversationView,
    DomainEvent,
    EventType,
    MessageView,
    NotificationView,
    ReopeningView,
)


@dataclass(frozen=True, slots=True)
class ConversationCreated(DomainEvent):
    """An inbound message opened a new conversation (conversations/receive.py)."""

    type = EventType.CONVERSATION_CREATED
    conversation_in = ("conversation", "id")

    conversation: ConversationView

    def payload(self) -> dict[str, Any]:
        # A new matter was placed NEW and its status is new: both always so.
        return {
            "conversation": self.conversation,
            "placement": Placement.NEW,
            "status_changed": True,
        }


@dataclass(frozen=True, slots=True)
class ConversationUpdated(DomainEvent):
    """Something about a conversation changed: a message joined or re-opened it, an agent or
    routing changed it, a follow-up or an SLA stage acted on it. The optional fields say what,
    and appear in the payload only when given."""

    type = EventType.CONVERSATION_UPDATED
    conversation_in = ("conversation", "id")

    conversation: ConversationView
    # How an inbound message was placed (receive_message only).
    placement: Placement | None = None
    # Why, when it was not an agent's doing: "follow_up_due", "sla.warning", "sla.breach".
    reason: str | None = None
    # Routing's own change: the assignment history is already in line with it.
    routing: bool = False
    # False: the status is known to be as it was (SLA clocks and routing skip the event);
    # None: not said. A re-opening always changes it (the payload then says true).
    status_changed: bool | None = None
    # What a re-opening cleared (conversations/reopen.py: reopening_view).
    reopened: ReopeningView | None = None

    def __post_init__(self) -> None:
        if self.reopened is not None and self.status_changed is False:
            raise ValueError("a re-opened conversation has changed its status")

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"conversation": self.conversation}
        if self.placement is not None:
            payload["placement"] = self.placement
        if self.reason is not None:
            payload["reason"] = self.reason
        if self.routing:
            payload["routing"] = True
        if self.reopened is not None:
            payload["status_changed"] = True
            payload["reopened"] = self.reopened
        elif self.status_changed is not None:
            payload["status_changed"] = self.status_changed
        return payload


@dataclass(frozen=True, slots=True)
class _MessageEvent(DomainEvent):
    conversation_in = ("message", "conversation_id")

    message: MessageView
    # Who may see the conversation (None only if it is gone).
    conversation: ConversationScope | None

    @property
    def channel(self) -> str:
        return str(self.message.get("channel"))

    @property
    def from_customer(self) -> bool:
        """The customer wrote it (inbound, and not an auto-reply or a survey answer)."""
        return self.message.get("direction") == Direction.INBOUND.value and not (
            self.message.get("meta") or {}
        ).get("automated")

    @property
    def agent_reply(self) -> bool:
        """An agent wrote it to the customer."""
        return (
            self.message.get("direction") == Direction.OUTBOUND.value
            and self.message.get("author_agent_id") is not None
        )

    @property
    def answered_call(self) -> bool:
        """A call that an agent picked up."""
        call = self.message.get("call")
        return isinstance(call, dict) and call.get("outcome") == "answered"

    def payload(self) -> dict[str, Any]:
        return {"message": self.message, "conversation": self.conversation}


@dataclass(frozen=True, slots=True)
class MessageCreated(_MessageEvent):
    """A message, note or system entry was added to a conversation's timeline."""

    type = EventType.MESSAGE_CREATED


@dataclass(frozen=True, slots=True)
class MessageUpdated(_MessageEvent):
    """A message changed: its delivery status, or a call's outcome."""

    type = EventType.MESSAGE_UPDATED


@dataclass(frozen=True, slots=True)
class AgentMentioned(DomainEvent):
    """A note mentioned an agent; only that agent is told."""

    type = EventType.AGENT_MENTIONED
    conversation_in = ("notification", "conversation_id")
    audience = Audience.AGENT

    agent_id: int
    notification: NotificationView

    def payload(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id, "notification": self.notification}
