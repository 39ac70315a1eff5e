"""Status transitions on the row: the one place every path applies `domain.conversations`'
pure transitions (`lifecycle_of` reads them off a conversation, `apply_lifecycle` writes one
back), and re-opening with its timeline entry.

The customer writing again (receive.py), an agent replying to a resolved matter
(replies.py), a follow-up falling due (follow_ups/due.py) and an agent setting the status by
hand (actions.py) all re-open here, so they clear the same fields and record the same
history. Leaving `resolved` writes a system entry in the timeline that names the cause and
keeps the wrap-up being cleared (code and summary, also in the entry's `meta`), and each
caller's `ConversationUpdated` carries `reopened_view` as `reopened`: what was re-opened, and
so `status_changed` (the SLA clocks resume and routing reconciles the assignment).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from threadline.adapters.db import tables as t
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import conversation_scope, iso, message_view
from threadline.domain.conversations import (
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Lifecycle,
    ReopenCause,
    Reopening,
    reopen,
)
from threadline.domain.events import MessageCreated


def lifecycle_of(conversation: t.Conversation) -> Lifecycle:
    return Lifecycle(
        status=ConversationStatus(conversation.status),
        resolved_at=conversation.resolved_at,
        wrap_up_code=conversation.wrap_up_code,
        wrap_up_summary=conversation.wrap_up_summary,
        attributes=dict(conversation.attributes or {}),
    )


def apply_lifecycle(conversation: t.Conversation, after: Lifecycle) -> None:
    """Write a status transition's outcome (domain.conversations) onto the row."""
    conversation.status = after.status.value
    conversation.resolved_at = after.resolved_at
    conversation.wrap_up_code = after.wrap_up_code
    conversation.wrap_up_summary = after.wrap_up_summary
    # A new dict, so that SQLAlchemy sees the JSON column change.
    conversation.attributes = dict(after.attributes)


async def reopen_conversation(
    uow: UnitOfWork,
    conversation: t.Conversation,
    cause: ReopenCause,
    *,
    channel: str | None = None,
    agent_id: int | None = None,
    to: ConversationStatus = ConversationStatus.OPEN,
    at: datetime | None = None,
) -> Reopening | None:
    """Re-open the (row-locked) conversation if it is not open; None when nothing changed.

    `channel` is the channel of what re-opened it (shown on the timeline entry), `agent_id`
    the agent who did, if one did, and `at` when (the clock's now unless given)."""
    reopening = reopen(lifecycle_of(conversation), cause, to=to)
    if reopening is None:
        return None
    apply_lifecycle(conversation, reopening.after)
    if reopening.was_resolved:
        when = at if at is not None else uow.clock.now()
        await _record_in_timeline(uow, conversation, reopening, channel, agent_id, when)
    return reopening


def reopening_view(reopening: Reopening) -> dict[str, Any]:
    before = reopening.before
    return {
        "cause": reopening.cause.value,
        "previous_status": before.status.value,
        "wrap_up": (
            {
                "code": before.wrap_up_code,
                "summary": before.wrap_up_summary,
                "resolved_at": iso(before.resolved_at),
            }
            if reopening.had_wrap_up
            else None
        ),
    }


def reopened_view(reopening: Reopening | None) -> dict[str, Any] | None:
    """What the caller's `ConversationUpdated` carries as `reopened` (None if the
    conversation was not re-opened)."""
    return reopening_view(reopening) if reopening is not None else None


async def _record_in_timeline(
    uow: UnitOfWork,
    conversation: t.Conversation,
    reopening: Reopening,
    channel: str | None,
    agent_id: int | None,
    at: datetime,
) -> None:
    entry = t.Message(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        inbox_id=None,
        channel=channel or conversation.last_inbound_channel or "api",
        direction=Direction.SYSTEM.value,
        author_agent_id=agent_id,
        sender_identity=None,
        text=reopening.history_text(),
        html=None,
        attachments=[],
        delivery_status=DeliveryStatus.RECEIVED.value,
        meta={"reopened": reopening_view(reopening)},
        created_at=at,
    )
    uow.session.add(entry)
    await uow.session.flush()
    uow.emit(
        conversation.workspace_id,
        MessageCreated(message_view(entry), conversation_scope(conversation)),
    )
