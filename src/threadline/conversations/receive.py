"""receive_message: the single way in for every channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.adapters.metrics import INBOUND_MESSAGES
from threadline.conversations.channels import record_channel
from threadline.conversations.reopen import reopen_conversation, reopened_payload
from threadline.core.lookups import get_scoped, get_workspace, known_by_provider_id
from threadline.core.unit_of_work import UnitOfWork, UnitOfWorkFactory, worth_retrying
from threadline.core.views import conversation_scope, conversation_view, message_view
from threadline.csat.answers import mark_survey_answer
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
    place_automated_message,
    place_inbound_message,
)
from threadline.domain.errors import DomainError, InvalidIdentity
from threadline.domain.events import DomainEvent, EventType
from threadline.domain.identities import IdentityKey, normalise_identity
from threadline.domain.inbound import InboundMessage

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


async def _receive_once(
    uow: UnitOfWork, workspace_id: int, inbound: InboundMessage
) -> ReceivedMessage:
    session = uow.session
    workspace = await get_workspace(session, workspace_id)
    inbox = await get_scoped(session, t.Inbox, workspace_id, inbound.inbox_id)

    if inbound.provider_message_id:
        existing = await _find_by_provider_id(
            session, workspace_id, inbox.id, inbound.provider_message_id
        )
        if existing is not None:
            conversation = await session.get(t.Conversation, existing.conversation_id)
            assert conversation is not None
            return ReceivedMessage(
                existing.id,
                existing.conversation_id,
                conversation.customer_id,
                True,
                None,
                Channel(existing.channel),
            )

    primary = normalise_identity(
        inbound.sender.kind, inbound.sender.value, workspace.default_region
    )
    others: list[IdentityKey] = []
    for other in inbound.other_identities:
        try:
            others.append(normalise_identity(other.kind, other.value, workspace.default_region))
        except InvalidIdentity:
            # A secondary address that does not parse is kept on the message, not lost.
            continue
    customer, _ = await resolve_customer(uow, workspace_id, primary, others, inbound.sender_name)
    # Serialise work on one customer so two simultaneous messages cannot open two matters.
    await _lock_unmerged_customer(session, workspace_id, customer.id)

    now = uow.clock.now()
    channel = inbound.channel or Channel(inbox.channel)
    # "5" in reply to a satisfaction survey answers it; it is not the customer re-opening.
    inbound = await mark_survey_answer(session, workspace_id, customer.id, channel, inbound, now)
    candidates = (
        (
            await session.execute(
                select(t.Conversation).where(
                    t.Conversation.workspace_id == workspace_id,
                    t.Conversation.customer_id == customer.id,
                )
            )
        )
        .scalars()
        .all()
    )
    threaded = await _threaded_conversation(session, workspace_id, customer.id, inbound)
    if inbound.automated:
        decision = (
            PlacementDecision(Placement.JOIN, threaded.id)
            if threaded is not None
            else place_automated_message([_summary(c) for c in candidates])
        )
    else:
        decision = place_inbound_message(
            [_summary(c) for c in candidates],
            now=now,
            reopen_window=timedelta(seconds=workspace.reopen_window_seconds),
            threaded_conversation=_summary(threaded) if threaded is not None else None,
        )

    previous_status = None
    reopening = None
    if decision.placement is Placement.NEW:
        conversation = t.Conversation(
            workspace_id=workspace_id,
            customer_id=customer.id,
            subject=inbound.subject,
            status=(
                ConversationStatus.RESOLVED if inbound.automated else ConversationStatus.OPEN
            ).value,
            resolved_at=now if inbound.automated else None,
            priority="normal",
            team_id=inbox.team_id,
            attributes={},
            # Set before the first flush, so a new matter costs one INSERT and no UPDATE.
            last_inbound_channel=None if inbound.automated else channel.value,
            last_inbound_inbox_id=None if inbound.automated else inbox.id,
            last_inbound_at=None if inbound.automated else now,
            last_message_at=now,
            created_at=now,
        )
        session.add(conversation)
        await session.flush()
    else:
        conversation = next(c for c in candidates if c.id == decision.conversation_id)
        previous_status = conversation.status
        if not inbound.automated:
            # The customer wrote (back): a resolved matter within the window (a REOPEN
            # placement), a pending or a snoozed one needs an agent again.
            reopening = await reopen_conversation(
                uow, conversation, ReopenCause.CUSTOMER_WROTE, channel=channel.value
            )
    if not inbound.automated:
        conversation.last_inbound_channel = channel.value
        conversation.last_inbound_inbox_id = inbox.id
        conversation.last_inbound_at = now
    conversation.last_message_at = now
    if conversation.subject is None and inbound.subject:
        conversation.subject = inbound.subject

    message = t.Message(
        workspace_id=workspace_id,
        conversation_id=conversation.id,
        inbox_id=inbox.id,
        channel=channel.value,
        direction=Direction.INBOUND.value,
        sender_identity=primary.value,
        text=inbound.text,
        html=inbound.html,
        attachments=list(inbound.attachments),
        provider_message_id=inbound.provider_message_id,
        delivery_status=DeliveryStatus.RECEIVED.value,
        call=inbound.call,
        meta={**inbound.meta, **({"automated": True} if inbound.automated else {})},
        created_at=now,
    )
    session.add(message)
    await record_channel(session, workspace_id, conversation.id, channel)
    await session.flush()

    scope = conversation_scope(conversation)
    event_type = (
        EventType.CONVERSATION_CREATED
        if decision.placement is Placement.NEW
        else EventType.CONVERSATION_UPDATED
    )
    uow.emit(
        workspace_id,
        DomainEvent(
            event_type,
            {
                "conversation": conversation_view(conversation),
                "placement": decision.placement,
                # Lets reactions to status changes (SLA clocks) skip the common case cheaply.
                "status_changed": decision.placement is Placement.NEW
                or conversation.status != previous_status,
                **reopened_payload(reopening),
            },
            conversation_id=conversation.id,
        ),
    )
    uow.emit(
        workspace_id,
        DomainEvent(
            EventType.MESSAGE_CREATED,
            {"message": message_view(message), "conversation": scope},
            conversation_id=conversation.id,
        ),
    )
    return ReceivedMessage(
        message.id, conversation.id, customer.id, False, decision.placement, channel
    )


async def _find_by_provider_id(
    session: AsyncSession, workspace_id: int, inbox_id: int, provider_id: str
) -> t.Message | None:

    return (
        await session.execute(
            select(t.Message).where(known_by_provider_id(workspace_id, inbox_id, [provider_id]))
        )
    ).scalar_one_or_none()


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
