"""Conversation states and the continuity rule that decides where an inbound message goes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from threadline.domain.errors import DomainError


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


# -- Re-opening ---------------------------------------------------------------------------------

# The attribute holding a snoozed conversation's wake-up time (ISO 8601).
SNOOZED_UNTIL = "snoozed_until"


class ReopenCause(StrEnum):
    """Why a matter became active again."""

    CUSTOMER_WROTE = "customer_wrote"
    AGENT_REPLIED = "agent_replied"
    FOLLOW_UP_DUE = "follow_up_due"
    STATUS_CHANGED = "status_changed"  # an agent set the status by hand


_CAUSE_TEXT = {
    ReopenCause.CUSTOMER_WROTE: "the customer wrote again",
    ReopenCause.AGENT_REPLIED: "an agent replied",
    ReopenCause.FOLLOW_UP_DUE: "a follow-up fell due",
    ReopenCause.STATUS_CHANGED: "an agent changed the status",
}


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """The part of a conversation its status transitions change."""

    status: ConversationStatus
    resolved_at: datetime | None
    wrap_up_code: str | None
    wrap_up_summary: str | None
    attributes: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Reopening:
    """A resolved matter made active again, or a pending or snoozed one woken up."""

    cause: ReopenCause
    before: Lifecycle
    after: Lifecycle

    @property
    def was_resolved(self) -> bool:
        return self.before.status is ConversationStatus.RESOLVED

    @property
    def had_wrap_up(self) -> bool:
        return self.before.wrap_up_code is not None or self.before.wrap_up_summary is not None

    def history_text(self) -> str:
        """The timeline's record of the re-opening, with the wrap-up it leaves behind, so
        nothing the agent wrote at resolve time is lost."""
        text = f"Re-opened: {_CAUSE_TEXT[self.cause]}."
        if self.had_wrap_up:
            code = self.before.wrap_up_code or "no code"
            summary = (self.before.wrap_up_summary or "").strip()
            text += f" Earlier wrap-up: {code}" + (f" \u2014 {summary}" if summary else ".")
        return text


def reopen(
    current: Lifecycle, cause: ReopenCause, *, to: ConversationStatus = ConversationStatus.OPEN
) -> Reopening | None:
    """The one re-open transition: a resolved conversation becomes `to` (open unless an agent
    chose pending or snoozed), and a pending or snoozed one becomes open.

    What belonged to the round that ended goes: the resolution time, the wrap-up (a new
    round gets its own at its next resolution) and the snooze time. None when there is
    nothing to re-open (already open, or a change between pending and snoozed)."""
    if to is ConversationStatus.RESOLVED:
        raise ValueError("re-opening cannot resolve")
    waking = current.status in (ConversationStatus.PENDING, ConversationStatus.SNOOZED)
    if not (
        current.status is ConversationStatus.RESOLVED or (waking and to is ConversationStatus.OPEN)
    ):
        return None
    after = Lifecycle(
        status=to,
        resolved_at=None,
        wrap_up_code=None,
        wrap_up_summary=None,
        attributes=_without_snooze(current.attributes),
    )
    return Reopening(cause, current, after)


def resolve(
    current: Lifecycle, now: datetime, wrap_up: tuple[str | None, str | None] | None
) -> Lifecycle:
    """Resolving: the first resolution's time stays (a resolved matter resolved again keeps
    it), a wrap-up given (code, summary) replaces the one there, and a snooze time goes."""
    code, summary = (
        wrap_up if wrap_up is not None else (current.wrap_up_code, current.wrap_up_summary)
    )
    return Lifecycle(
        status=ConversationStatus.RESOLVED,
        resolved_at=current.resolved_at or now,
        wrap_up_code=code,
        wrap_up_summary=summary,
        attributes=_without_snooze(current.attributes),
    )


def set_aside(
    current: Lifecycle, to: ConversationStatus, snoozed_until: str | None = None
) -> Lifecycle:
    """Open, pending or snoozed, once a resolved matter has been re-opened (`reopen`): only
    a snoozed matter keeps a wake-up time (`snoozed_until`, as stored)."""
    if to is ConversationStatus.RESOLVED:
        raise ValueError("setting aside cannot resolve")
    attributes = _without_snooze(current.attributes)
    if to is ConversationStatus.SNOOZED and snoozed_until is not None:
        attributes[SNOOZED_UNTIL] = snoozed_until
    return replace(current, status=to, attributes=attributes)


def check_snooze(to: ConversationStatus, snoozed_until: datetime | None, now: datetime) -> None:
    """A wake-up time goes only with the snoozed status, with a time zone, in the future."""
    if snoozed_until is None:
        return
    if to is not ConversationStatus.SNOOZED:
        raise DomainError("snoozed_until goes only with the snoozed status")
    if snoozed_until.tzinfo is None:
        raise DomainError("snoozed_until needs a time zone, e.g. 2026-11-02T09:00:00Z")
    if snoozed_until <= now:
        raise DomainError("snoozed_until must be in the future")


def _without_snooze(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if k != SNOOZED_UNTIL}
