"""receive_message: the single way in for every channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.adapters.metrics import INBOUND_MESSAGES
from threadline.conversations.channels import record_channel
from threadline.conversations.reopen import reopen_conversation, reopened_view
from threadline.core.lookups import get_scoped, get_workspace, known_by_provider_id
from threadline.core.unit_of_work import UnitOfWork, UnitOfWorkFactory, worth_retrying
from threadline.core.views import conversation_scope, conversation_view, message_view
from threadline.csat.answers import digit_reply_to_survey, record_digit_reply
from threadline.customers.resolve import resolve_customer
from threadline.domain.channels import Channel
from threadline.domain.conversations import (
    ConversationStatus,
    ConversationSummary,
    DeliveryStatus,
    Direction,
    Placement,
    PlacementDecision,
    ReopenCause,
    Reopening,
    place_automated_message,
    place_inbound_message,
)
from threadline.domain.customers.identities import IdentityKey, normalise_identity
from threadline.domain.errors import DomainError, InvalidIdentity
from threadline.domain.events import ConversationCreated, ConversationUpdated, MessageCreated
from threadline.domain.messaging.inbound import InboundMessage

log = structlog.get_logger(__name__)

# Concurrent first contacts race on unique identities and provider ids; the loser retries
# and then finds what the winner stored.
MAX_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    message_id: int
    conversation_id: int
    customer_id: int
    duplicate: bool
    placement: Placement | None
    channel: Channel


async def receive_message(
    uow_factory: UnitOfWorkFactory, workspace_id: int, inbound: InboundMessage
) -> ReceivedMessage:
    last_error: Exception | None = None
    for _attempt in range(MAX_ATTEMPTS):
        async with uow_factory() as uow:
            try:
                result = await _receive_once(uow, workspace_id, inbound)
                if not result.duplicate:
                    await uow.commit()
                    _stored(workspace_id, result)
                return result
            except (IntegrityError, OperationalError, _CustomerMergedMeanwhile) as exc:
                # OperationalError covers PostgreSQL deadlock/serialization retries.
                if isinstance(exc, OperationalError) and not worth_retrying(exc):
                    raise
                last_error = exc
                await uow.rollback()
    raise DomainError(f"could not store the message after {MAX_ATTEMPTS} attempts: {last_error}")


def _stored(workspace_id: int, result: ReceivedMessage) -> None:
    """Counted and logged once committed: a rolled-back attempt stored nothing."""
    INBOUND_MESSAGES.labels(channel=result.channel.value).inc()
    # DEBUG: a line per message would drown the seed's progress, and the access line of the
    # request that brought it (with the same request id) is at INFO already.
    log.debug(
        "message.received",
        workspace_id=workspace_id,
        channel=result.channel.value,
        message_id=result.message_id,
        conversation_id=result.conversation_id,
        placement=result.placement.value if result.placement else None,
    )


class _CustomerMergedMeanwhile(Exception):
    """The sender's customer was merged away while this message waited for its row lock."""


async def _lock_unmerged_customer(
    session: AsyncSession, workspace_id: int, customer_id: int
) -> None:
    """Row-lock the customer, re-reading it once the lock is granted.

    A merge holds the same lock while it moves the customer's identities and conversations
    to another customer. Without the re-read (populate_existing) a message that waited on
    the lock would still see the old row and open a new conversation on the merged-away
    customer. Retrying from the start resolves the sender again, to the merged customer.
    """
    locked = (
        await session.execute(
            select(t.Customer)
            .where(t.Customer.id == customer_id, t.Customer.workspace_id == workspace_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    if locked.merged_into_id is not None:
        raise _CustomerMergedMeanwhile(f"customer {customer_id} was merged meanwhile")


@dataclass(frozen=True, slots=True)
class _Arrival:
    """One message arriving, once its sender is known: where, from whom, when."""

    workspace: t.Workspace
    inbox: t.Inbox
    channel: Channel
    sender: IdentityKey
    customer_id: int
    inbound: InboundMessage
    now: datetime


@dataclass(frozen=True, slots=True)
class _Placed:
    """The conversation a message went to, and how it got there."""

    conversation: t.Conversation
    decision: PlacementDecision
    previous_status: str | None
    reopening: Reopening | None


async def _receive_once(
    uow: UnitOfWork, workspace_id: int, inbound: InboundMessage
) -> ReceivedMessage:
    """Receiving a message: a repeat is answered with what was stored; otherwise the sender
    is found (or created), a survey answer recognised, the message placed in a conversation,
    stored and announced, and a survey answer recorded."""
    session = uow.session
    workspace = await get_workspace(session, workspace_id)
    inbox = await get_scoped(session, t.Inbox, workspace_id, inbound.inbox_id)
    repeat = await _received_before(session, workspace_id, inbox.id, inbound)
    if repeat is not None:
        return repeat
    sender, others = _sender_identities(inbound, workspace.default_region)
    customer = await _sender_customer(uow, workspace_id, sender, others, inbound.sender_name)
    now = uow.clock.now()
    channel = inbound.channel or Channel(inbox.channel)
    # "5" in reply to a satisfaction survey answers it; it is not the customer re-opening.
    survey_reply = await digit_reply_to_survey(
        session, workspace_id, customer.id, channel, inbound, now
    )
    if survey_reply is not None:
        inbound = survey_reply.stored_as(inbound)
    arrival = _Arrival(workspace, inbox, channel, sender, customer.id, inbound, now)
    placed = await _place(uow, arrival)
    message = await _store_message(uow.session, placed.conversation, arrival)
    _announce(uow, placed, message)
    if survey_reply is not None:
        await record_digit_reply(uow, survey_reply)
    return ReceivedMessage(
        message.id, placed.conversation.id, customer.id, False, placed.decision.placement, channel
    )


async def _received_before(
    session: AsyncSession, workspace_id: int, inbox_id: int, inbound: InboundMessage
) -> ReceivedMessage | None:
    """A provider delivering the same message again gets what was stored the first time."""
    if not inbound.provider_message_id:
        return None
    known = known_by_provider_id(workspace_id, inbox_id, [inbound.provider_message_id])
    existing = (await session.execute(select(t.Message).where(known))).scalar_one_or_none()
    if existing is None:
        return None
    conversation = await session.get(t.Conversation, existing.conversation_id)
    assert conversation is not None
    customer_id, channel = conversation.customer_id, Channel(existing.channel)
    return ReceivedMessage(existing.id, conversation.id, customer_id, True, None, channel)


def _sender_identities(
    inbound: InboundMessage, default_region: str
) -> tuple[IdentityKey, list[IdentityKey]]:
    """The sender's address, normalised, and the further ones they gave that parse."""
    primary = normalise_identity(inbound.sender.kind, inbound.sender.value, default_region)
    others: list[IdentityKey] = []
    for other in inbound.other_identities:
        try:
            others.append(normalise_identity(other.kind, other.value, default_region))
        except InvalidIdentity:
            # A secondary address that does not parse is kept on the message, not lost.
            continue
    return primary, others


async def _sender_customer(
    uow: UnitOfWork,
    workspace_id: int,
    primary: IdentityKey,
    others: list[IdentityKey],
    name: str | None,
) -> t.Customer:
    """The customer the addresses belong to (created if new), row-locked: work on one
    customer is serialised, so two simultaneous messages cannot open two matters."""
    customer, _ = await resolve_customer(uow, workspace_id, primary, others, name)
    await _lock_unmerged_customer(uow.session, workspace_id, customer.id)
    return customer


async def _place(uow: UnitOfWork, arrival: _Arrival) -> _Placed:
    """Join, re-open or open the customer's conversation for the message, and note that
    the customer wrote (unless the message is automated)."""
    decision, candidates = await _placement_decision(uow.session, arrival)
    previous_status = None
    reopening = None
    if decision.placement is Placement.NEW:
        conversation = await _open_conversation(uow.session, arrival)
    else:
        conversation = next(c for c in candidates if c.id == decision.conversation_id)
        previous_status = conversation.status
        if not arrival.inbound.automated:
            # The customer wrote (back): a resolved matter within the window (a REOPEN
            # placement), a pending or a snoozed one needs an agent again.
            reopening = await reopen_conversation(
                uow, conversation, ReopenCause.CUSTOMER_WROTE, channel=arrival.channel.value
            )
    _note_arrival(conversation, arrival)
    return _Placed(conversation, decision, previous_status, reopening)


async def _placement_decision(
    session: AsyncSession, arrival: _Arrival
) -> tuple[PlacementDecision, list[t.Conversation]]:
    """Where the message goes (domain.conversations), among the customer's conversations."""
    workspace_id, inbound = arrival.workspace.id, arrival.inbound
    of_customer = select(t.Conversation).where(
        t.Conversation.workspace_id == workspace_id,
        t.Conversation.customer_id == arrival.customer_id,
    )
    candidates = list((await session.execute(of_customer)).scalars())
    threaded = await _threaded_conversation(session, workspace_id, arrival.customer_id, inbound)
    if inbound.automated:
        decision = (
            PlacementDecision(Placement.JOIN, threaded.id)
            if threaded is not None
            else place_automated_message([_summary(c) for c in candidates])
        )
    else:
        decision = place_inbound_message(
            [_summary(c) for c in candidates],
            now=arrival.now,
            reopen_window=timedelta(seconds=arrival.workspace.reopen_window_seconds),
            threaded_conversation=_summary(threaded) if threaded is not None else None,
        )
    return decision, candidates


async def _open_conversation(session: AsyncSession, arrival: _Arrival) -> t.Conversation:
    """A new matter; an automated message alone opens it resolved."""
    inbound, now = arrival.inbound, arrival.now
    conversation = t.Conversation(
        workspace_id=arrival.workspace.id,
        customer_id=arrival.customer_id,
        subject=inbound.subject,
        status=(
            ConversationStatus.RESOLVED if inbound.automated else ConversationStatus.OPEN
        ).value,
        resolved_at=now if inbound.automated else None,
        priority="normal",
        team_id=arrival.inbox.team_id,
        attributes={},
        # Set before the first flush, so a new matter costs one INSERT and no UPDATE.
        last_inbound_channel=None if inbound.automated else arrival.channel.value,
        last_inbound_inbox_id=None if inbound.automated else arrival.inbox.id,
        last_inbound_at=None if inbound.automated else now,
        last_message_at=now,
        created_at=now,
    )
    session.add(conversation)
    await session.flush()
    return conversation


def _note_arrival(conversation: t.Conversation, arrival: _Arrival) -> None:
    """The customer's latest channel and activity (an automated message is only activity),
    and the subject if the conversation had none."""
    inbound = arrival.inbound
    if not inbound.automated:
        conversation.last_inbound_channel = arrival.channel.value
        conversation.last_inbound_inbox_id = arrival.inbox.id
        conversation.last_inbound_at = arrival.now
    conversation.last_message_at = arrival.now
    if conversation.subject is None and inbound.subject:
        conversation.subject = inbound.subject


async def _store_message(
    session: AsyncSession, conversation: t.Conversation, arrival: _Arrival
) -> t.Message:
    inbound = arrival.inbound
    message = t.Message(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        inbox_id=arrival.inbox.id,
        channel=arrival.channel.value,
        direction=Direction.INBOUND.value,
        sender_identity=arrival.sender.value,
        text=inbound.text,
        html=inbound.html,
        attachments=list(inbound.attachments),
        provider_message_id=inbound.provider_message_id,
        delivery_status=DeliveryStatus.RECEIVED.value,
        call=inbound.call,
        meta={**inbound.meta, **({"automated": True} if inbound.automated else {})},
        created_at=arrival.now,
    )
    session.add(message)
    await record_channel(session, conversation.workspace_id, conversation.id, arrival.channel)
    await session.flush()
    return message


def _announce(uow: UnitOfWork, placed: _Placed, message: t.Message) -> None:
    """conversation.created or .updated (saying how the message was placed, and whether the
    status changed, so that SLA clocks and routing skip the common case cheaply), then
    message.created."""
    conversation = placed.conversation
    view = conversation_view(conversation)
    if placed.decision.placement is Placement.NEW:
        uow.emit(conversation.workspace_id, ConversationCreated(view))
    else:
        uow.emit(
            conversation.workspace_id,
            ConversationUpdated(
                view,
                placement=placed.decision.placement,
                status_changed=conversation.status != placed.previous_status,
                reopened=reopened_view(placed.reopening),
            ),
        )
    uow.emit(
        conversation.workspace_id,
        MessageCreated(message_view(message), conversation_scope(conversation)),
    )


async def _threaded_conversation(
    session: AsyncSession, workspace_id: int, customer_id: int, inbound: InboundMessage
) -> t.Conversation | None:
    """The conversation a channel thread points to, if it is this customer's."""
    if inbound.thread_conversation_id is not None:
        named = (
            await session.execute(
                select(t.Conversation).where(
                    t.Conversation.id == inbound.thread_conversation_id,
                    t.Conversation.workspace_id == workspace_id,
                    t.Conversation.customer_id == customer_id,
                )
            )
        ).scalar_one_or_none()
        if named is not None:
            return named
    if not inbound.thread_refs:
        return None
    return (
        await session.execute(
            select(t.Conversation)
            .join(t.Message, t.Message.conversation_id == t.Conversation.id)
            .where(
                t.Message.workspace_id == workspace_id,
                t.Message.provider_message_id.in_(list(inbound.thread_refs)),
                t.Conversation.customer_id == customer_id,
            )
            .order_by(t.Message.created_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


def _summary(c: t.Conversation) -> ConversationSummary:
    return ConversationSummary(
        id=c.id,
        status=ConversationStatus(c.status),
        last_activity_at=c.last_message_at,
        resolved_at=c.resolved_at,
    )
