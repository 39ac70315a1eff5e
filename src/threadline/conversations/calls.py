"""Phone calls: every callback about one call becomes one call entry in the timeline.

Providers (Twilio, a PBX through the CTI endpoint) report a call in pieces: ringing,
answered, completed, a recording. The first report creates the entry through
`receive_message` (so the caller resolves to their customer and conversation like any
other contact); later reports update that same entry. A missed inbound call, or one that
ended in voicemail, plans exactly one callback task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from threadline.adapters.db import tables as t
from threadline.conversations.receive import receive_message
from threadline.core.lookups import get_scoped, known_by_provider_id
from threadline.core.unit_of_work import UnitOfWork, UnitOfWorkFactory
from threadline.core.views import conversation_scope, message_view
from threadline.domain.channels import Channel, IdentityKind
from threadline.domain.conversations import Direction
from threadline.domain.errors import DomainError
from threadline.domain.events import MessageUpdated
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.domain.security.access import Principal, Role
from threadline.domain.tasks import TaskKind
from threadline.follow_ups.tasks import NewTask, create_task

DEFAULT_CALLBACK_DUE_MINUTES = 60


class CallOutcome(StrEnum):
    ANSWERED = "answered"
    MISSED = "missed"
    VOICEMAIL = "voicemail"


class CallDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


# Twilio's CallStatus vocabulary, which the CTI endpoint maps onto too.
_STATUS_RANK = {
    "queued": 0,
    "initiated": 0,
    "ringing": 1,
    "in-progress": 2,
    "completed": 3,
    "busy": 3,
    "no-answer": 3,
    "failed": 3,
    "canceled": 3,
}
KNOWN_STATUSES = frozenset(_STATUS_RANK)
MISSED_STATUSES = frozenset({"busy", "no-answer", "failed", "canceled"})


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One report about a call, in provider-neutral terms."""

    inbox_id: int
    call_id: str
    # None when the report does not say (a recording callback).
    direction: CallDirection | None = None
    from_number: str | None = None
    to_number: str | None = None
    status: str | None = None
    duration_seconds: int | None = None
    recording_url: str | None = None
    recording_duration_seconds: int | None = None
    # The caller left a message (Twilio <Record>, a PBX voicemail box).
    voicemail: bool = False
    # A person took the call (a <Dial> answered, a queue bridged, CTI call.answered).
    answered_by_agent: bool = False
    # The caller gave up before anyone took it (hung up in the queue, <Dial> unanswered).
    missed: bool = False
    # A machine picked up (voicemail prompt, queue, announcement): the call completing then
    # means the caller hung up on it, unless a person took the call meanwhile.
    unattended: bool = False
    provider: str = "twilio"

    @property
    def customer_number(self) -> str | None:
        if self.direction is None:
            return None
        return self.from_number if self.direction is CallDirection.INBOUND else self.to_number


@dataclass(frozen=True, slots=True)
class CallRecorded:
    message_id: int
    conversation_id: int
    customer_id: int
    created: bool
    outcome: str | None
    callback_task_id: int | None


def merge_call(state: dict[str, Any] | None, event: CallEvent) -> dict[str, Any]:
    """The call as known after `event`; callbacks may arrive late or out of order."""
    merged: dict[str, Any] = dict(state or {})
    if event.direction is not None:
        merged.setdefault("direction", event.direction.value)
    merged.setdefault("provider", event.provider)
    for key, value in (("from", event.from_number), ("to", event.to_number)):
        if value and not merged.get(key):
            merged[key] = value
    if event.status in KNOWN_STATUSES:
        current = merged.get("status")
        # A late "ringing" never overwrites "completed".
        if current not in KNOWN_STATUSES or _STATUS_RANK[event.status] >= _STATUS_RANK[current]:
            merged["status"] = event.status
    if event.duration_seconds is not None:
        merged["duration_seconds"] = max(event.duration_seconds, 0)
    if event.recording_url:
        merged["recording_url"] = event.recording_url
    if event.recording_duration_seconds is not None:
        merged["recording_duration_seconds"] = max(event.recording_duration_seconds, 0)
    for flag in ("voicemail", "answered_by_agent", "missed", "unattended"):
        if getattr(event, flag):
            merged[flag] = True
    merged["outcome"] = call_outcome(merged)
    merged.setdefault("duration_seconds", None)
    merged.setdefault("recording_url", None)
    return merged


def call_outcome(call: dict[str, Any]) -> str | None:
    """answered / missed / voicemail, or None while the call is still going."""
    if call.get("voicemail"):
        return CallOutcome.VOICEMAIL.value
    if call.get("answered_by_agent"):
        return CallOutcome.ANSWERED.value
    status = call.get("status")
    if call.get("missed") or status in MISSED_STATUSES:
        return CallOutcome.MISSED.value
    if status == "completed":
        return CallOutcome.MISSED.value if call.get("unattended") else CallOutcome.ANSWERED.value
    return None


def needs_callback(call: dict[str, Any]) -> bool:
    return call.get("direction") == CallDirection.INBOUND.value and call.get("outcome") in {
        CallOutcome.MISSED.value,
        CallOutcome.VOICEMAIL.value,
    }


def describe_call(call: dict[str, Any]) -> str:
    """The line agents read in the timeline."""
    inbound = call.get("direction") == CallDirection.INBOUND.value
    other = call.get("from") if inbound else call.get("to")
    party = f"from {other}" if inbound else f"to {other}"
    outcome = call.get("outcome")
    if outcome == CallOutcome.VOICEMAIL.value:
        return f"Voicemail {party}"
    if outcome == CallOutcome.MISSED.value:
        return f"Missed call {party}"
    duration = call.get("duration_seconds")
    if outcome == CallOutcome.ANSWERED.value:
        length = f" ({duration // 60} min {duration % 60} s)" if isinstance(duration, int) else ""
        return f"Call {party}{length}"
    return f"Call {party} ({call.get('status') or 'started'})"


async def record_call_event(
    uow_factory: UnitOfWorkFactory, workspace_id: int, event: CallEvent
) -> CallRecorded:
    if not event.call_id.strip():
        raise DomainError("a call report needs the provider's call id")
    entry = await _call_entry(uow_factory, workspace_id, event)
    async with uow_factory() as uow:
        message = await get_scoped(
            uow.session, t.Message, workspace_id, entry.message_id, lock=True
        )
        merged = merge_call(message.call, event)
        changed = _apply(message, merged)
        task_id = merged.get("callback_task_id")
        if needs_callback(merged) and task_id is None:
            task_id = await _plan_callback(uow, workspace_id, event.inbox_id, message, merged)
            merged = {**merged, "callback_task_id": task_id}
            changed = _apply(message, merged) or changed
        if changed:
            await _announce_update(uow, workspace_id, message)
        await uow.commit()
    return CallRecorded(
        message_id=entry.message_id,
        conversation_id=entry.conversation_id,
        customer_id=entry.customer_id,
        created=entry.created,
        outcome=merged.get("outcome"),
        callback_task_id=task_id if isinstance(task_id, int) else None,
    )


@dataclass(frozen=True, slots=True)
class _Entry:
    message_id: int
    conversation_id: int
    customer_id: int
    created: bool


async def _call_entry(
    uow_factory: UnitOfWorkFactory, workspace_id: int, event: CallEvent
) -> _Entry:
    """The call's entry, created through receive_message by the first report."""
    number = event.customer_number
    if number:
        initial = merge_call(None, event)
        received = await receive_message(
            uow_factory,
            workspace_id,
            InboundMessage(
                inbox_id=event.inbox_id,
                sender=SenderIdentity(IdentityKind.PHONE, number),
                channel=Channel.VOICE,
                text=describe_call(initial),
                provider_message_id=event.call_id,
                call=initial,
            ),
        )
        return _Entry(
            received.message_id,
            received.conversation_id,
            received.customer_id,
            created=not received.duplicate,
        )
    # Reports that name no party (recordings) can only add to a call already recorded.
    async with uow_factory() as uow:
        row = (
            await uow.session.execute(
                select(t.Message.id, t.Message.conversation_id, t.Conversation.customer_id)
                .join(t.Conversation, t.Conversation.id == t.Message.conversation_id)
                .where(known_by_provider_id(workspace_id, event.inbox_id, [event.call_id]))
            )
        ).first()
    if row is None:
        raise DomainError(
            f"call {event.call_id} is not known yet and this report does not say who called"
        )
    message_id, conversation_id, customer_id = row
    return _Entry(message_id, conversation_id, customer_id, created=False)


def _apply(message: t.Message, call: dict[str, Any]) -> bool:
    """Write the merged call onto its entry; True when anything an agent sees changed."""
    text = describe_call(call)
    direction = (
        Direction.OUTBOUND.value
        if call.get("direction") == CallDirection.OUTBOUND.value
        else message.direction
    )
    if message.call == call and message.text == text and message.direction == direction:
        return False
    message.call = call
    message.text = text
    message.direction = direction
    return True


async def _plan_callback(
    uow: UnitOfWork, workspace_id: int, inbox_id: int, message: t.Message, call: dict[str, Any]
) -> int:
    inbox = await get_scoped(uow.session, t.Inbox, workspace_id, inbox_id)
    conversation = await get_scoped(
        uow.session, t.Conversation, workspace_id, message.conversation_id
    )
    minutes = inbox.settings.get("callback_due_minutes", DEFAULT_CALLBACK_DUE_MINUTES)
    if not isinstance(minutes, int | float) or isinstance(minutes, bool) or minutes < 0:
        minutes = DEFAULT_CALLBACK_DUE_MINUTES
    # The system plans the callback on the workspace's behalf, so nothing is hidden from it.
    system = Principal(workspace_id=workspace_id, role=Role.ADMIN, agent_id=None)
    what = "left a voicemail" if call.get("outcome") == CallOutcome.VOICEMAIL.value else "missed"
    task = await create_task(
        uow,
        system,
        NewTask(
            title=f"Call back {call.get('from')}",
            note=f"Inbound call {what} ({call.get('status')}).",
            due_at=uow.clock.now() + timedelta(minutes=float(minutes)),
            kind=TaskKind.CALLBACK,
            channel=Channel.VOICE,
            conversation_id=conversation.id,
            team_id=conversation.team_id or inbox.team_id,
        ),
    )
    return task.id


async def _announce_update(uow: UnitOfWork, workspace_id: int, message: t.Message) -> None:
    conversation = await get_scoped(
        uow.session, t.Conversation, workspace_id, message.conversation_id
    )
    uow.emit(
        workspace_id,
        MessageUpdated(message_view(message), conversation_scope(conversation)),
    )
