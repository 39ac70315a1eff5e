"""Conversation states and the continuity rule that decides where an inbound message goes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class ConversationStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


ACTIVE_STATUSES = frozenset(
    {ConversationStatus.OPEN, ConversationStatus.PENDING, ConversationStatus.SNOOZED}
)


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    NOTE = "note"
    SYSTEM = "system"


class DeliveryStatus(StrEnum):
    RECEIVED = "received"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """What continuity needs to know about one of the customer's conversations."""

    id: int
    status: ConversationStatus
    last_activity_at: datetime
    resolved_at: datetime | None


class Placement(StrEnum):
    JOIN = "join"
    REOPEN = "reopen"
    NEW = "new"


@dataclass(frozen=True, slots=True)
class PlacementDecision:
    placement: Placement
    conversation_id: int | None


def place_inbound_message(
    conversations: list[ConversationSummary],
    *,
    now: datetime,
    reopen_window: timedelta,
    threaded_conversation: ConversationSummary | None = None,
) -> PlacementDecision:
    """Continuity rules 2 (DESIGN.md): a channel thread that points to a known message wins;
    otherwise the customer's active conversation, whatever the channel; otherwise the latest
    resolved one if it was resolved within the re-open window; otherwise a new conversation."""
    if threaded_conversation is not None:
        target = threaded_conversation
        if target.status in ACTIVE_STATUSES:
            return PlacementDecision(Placement.JOIN, target.id)
        if _within_window(target, now, reopen_window):
            return PlacementDecision(Placement.REOPEN, target.id)
        # The thread is too old to re-open: fall through to the customer's current matter.
    active = [c for c in conversations if c.status in ACTIVE_STATUSES]
    if active:
        latest = max(active, key=lambda c: (c.last_activity_at, c.id))
        return PlacementDecision(Placement.JOIN, latest.id)
    resolved = [c for c in conversations if c.status is ConversationStatus.RESOLVED]
    if resolved:
        latest = max(resolved, key=lambda c: (c.resolved_at or c.last_activity_at, c.id))
        if _within_window(latest, now, reopen_window):
            return PlacementDecision(Placement.REOPEN, latest.id)
    return PlacementDecision(Placement.NEW, None)


def place_automated_message(conversations: list[ConversationSummary]) -> PlacementDecision:
    """An automated message joins the customer's latest matter as it is, whatever its status;
    only a customer with no matter at all gets a new (already resolved) one to hold it."""
    if not conversations:
        return PlacementDecision(Placement.NEW, None)
    latest = max(conversations, key=lambda c: (c.last_activity_at, c.id))
    return PlacementDecision(Placement.JOIN, latest.id)


def _within_window(conversation: ConversationSummary, now: datetime, window: timedelta) -> bool:
    resolved_at = conversation.resolved_at or conversation.last_activity_at
    return now - resolved_at <= window
