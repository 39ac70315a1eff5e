"""reply: an agent answers on the channel of their choice; the send goes through the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.conversations.reopen import reopen_conversation, reopened_view
from threadline.conversations.reply_channel import (
    default_reply_channel,
    pick_inbox,
)
from threadline.conversations.reply_rules import ReplyTemplate, check_reply_allowed, window_for
from threadline.core.lookups import get_visible_conversation
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import conversation_view
from threadline.customers.identities import identities_of
from threadline.delivery.queue import queue_outbound_message
from threadline.domain.channels import (
    IDENTITY_FOR_CHANNEL,
    Channel,
    IdentityKind,
    carries_text,
    no_text_reason,
    reachable_channels,
)
from threadline.domain.conversations import ConversationStatus, ReopenCause
from threadline.domain.errors import ChannelNotAllowed, DomainError
from threadline.domain.events import ConversationUpdated
from threadline.domain.security.access import Principal

MAX_REPLY_LENGTH = 100_000


@dataclass(frozen=True, slots=True)
class ReplyRequest:
    conversation_id: int
    text: str
    channel: Channel | None = None
    inbox_id: int | None = None
    # An approved WhatsApp template; the only thing WhatsApp takes outside the 24-hour window.
    template: ReplyTemplate | None = None


async def reply(uow: UnitOfWork, principal: Principal, request: ReplyRequest) -> t.Message:
    """Store the outbound message as `queued` and a durable job to send it, in one transaction."""
    session = uow.session
    text = _checked_text(request)
    ws = principal.workspace_id
    conversation = await get_visible_conversation(
        session, principal, request.conversation_id, lock=True
    )
    identities = await identities_of(session, ws, conversation.customer_id, newest_first=True)
    now = uow.clock.now()
    channel = await _checked_channel(session, ws, conversation, request, identities, now)
    inbox = await pick_inbox(session, ws, conversation, channel, request.inbox_id)
    recipient = next(i for i in identities if i.kind == IDENTITY_FOR_CHANNEL[channel].value)
    # Messaging windows and templates are checked now, so the agent is told at once.
    window = await window_for(session, ws, conversation.customer_id, channel, inbox, now)
    check_reply_allowed(window, inbox, request.template)

    conversation.last_message_at = now
    reopening = None
    if conversation.status == ConversationStatus.RESOLVED.value:
        # Writing to the customer about a closed matter re-opens it, so it is not lost.
        reopening = await reopen_conversation(
            uow,
            conversation,
            ReopenCause.AGENT_REPLIED,
            channel=channel.value,
            agent_id=principal.agent_id,
        )
    message = await queue_outbound_message(
        uow,
        conversation,
        inbox,
        channel,
        text=text,
        meta={
            "recipient": recipient.value,
            **({"template": request.template.as_meta()} if request.template else {}),
        },
        author_agent_id=principal.agent_id,
        now=now,
    )
    uow.emit(
        ws,
        ConversationUpdated(conversation_view(conversation), reopened=reopened_view(reopening)),
    )
    return message


def _checked_text(request: ReplyRequest) -> str:
    text = request.text.strip()
    if not text:
        raise DomainError("a reply needs some text")
    if len(text) > MAX_REPLY_LENGTH:
        raise DomainError(f"a reply is limited to {MAX_REPLY_LENGTH} characters")
    return text


async def _checked_channel(
    session: AsyncSession,
    workspace_id: int,
    conversation: t.Conversation,
    request: ReplyRequest,
    identities: list[t.Identity],
    now: datetime,
) -> Channel:
    """The channel asked for, or the default one; either must carry text and reach the
    customer through one of their identities."""
    allowed = reachable_channels({IdentityKind(i.kind) for i in identities})
    channel = request.channel
    if channel is None:
        default = await default_reply_channel(
            session, workspace_id, conversation, allowed, identities, now
        )
        if default.channel is None:
            raise ChannelNotAllowed(
                default.reason or "the customer has no identity on any channel to reply on"
            )
        channel = default.channel
    if not carries_text(channel):
        raise ChannelNotAllowed(no_text_reason(channel))
    if channel not in allowed:
        names = ", ".join(c.value for c in allowed) or "none"
        raise ChannelNotAllowed(
            f"the customer has no {IDENTITY_FOR_CHANNEL[channel].value} identity, so a reply "
            f"cannot go by {channel.value}; channels available: {names}"
        )
    return channel
