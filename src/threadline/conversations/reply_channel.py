"""Which channel and inbox a written reply goes by: shared by `reply` and `reply_options`, so
what the reply box offers is exactly what a reply is accepted on.

Rule 3 (DESIGN.md): by default the channel of the latest inbound message. A call carries no
text (domain/channels.py), so after a call the default is a text to the caller's number: SMS
when the workspace has an SMS inbox, else WhatsApp when it has a WhatsApp inbox and the
customer's 24-hour window there is open; otherwise there is no default, and the reason says
so. A form's sender is answered by email.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.conversations.reply_rules import window_for
from threadline.core.lookups import first_inbox, get_scoped
from threadline.domain.channels import (
    IDENTITY_FOR_CHANNEL,
    Channel,
    carries_text,
    text_channels_for,
)
from threadline.domain.errors import ChannelNotAllowed
from threadline.domain.messaging.messaging_windows import WINDOWED_CHANNELS


@dataclass(frozen=True, slots=True)
class DefaultChannel:
    channel: Channel | None
    # Why the default is not simply the latest inbound channel (or why there is none).
    reason: str | None = None


async def default_reply_channel(
    session: AsyncSession,
    workspace_id: int,
    conversation: t.Conversation,
    allowed: list[Channel],
    identities: list[t.Identity],
    now: datetime,
) -> DefaultChannel:
    if not conversation.last_inbound_channel:
        return DefaultChannel(allowed[0] if allowed else None)
    latest = Channel(conversation.last_inbound_channel)
    choices = text_channels_for(latest)
    if carries_text(latest):
        return DefaultChannel(latest)
    if latest is not Channel.VOICE:
        # A form: its sender is answered by email (and told so if they left no address).
        return DefaultChannel(choices[0])
    phone = next((i.value for i in identities if i.kind == IDENTITY_FOR_CHANNEL[latest]), None)
    for channel in choices:
        if channel not in allowed:
            continue
        inbox = await first_inbox(session, workspace_id, channel)
        if inbox is None:
            continue
        if channel in WINDOWED_CHANNELS:
            window = await window_for(
                session, workspace_id, conversation.customer_id, channel, inbox, now
            )
            if not window.open:
                continue
        return DefaultChannel(
            channel,
            f"the customer last called: a written reply goes by {channel.value} to {phone}",
        )
    return DefaultChannel(
        None,
        f"the customer last called from {phone or 'an unknown number'}, and no inbox can "
        "carry a written reply to that number: the workspace has no SMS inbox, and no "
        "WhatsApp inbox with the customer's 24-hour window open; add an SMS inbox, choose "
        "another channel the customer has, or call them back",
    )


async def pick_inbox(
    session: AsyncSession,
    workspace_id: int,
    conversation: t.Conversation,
    channel: Channel,
    inbox_id: int | None,
) -> t.Inbox:
    """The inbox a reply on `channel` is sent from: the one named, else the one the customer
    last wrote to, else one of that channel with the same address (an SMS inbox on the
    number the customer called), else the workspace's first of that channel."""
    if inbox_id is not None:
        inbox = await get_scoped(session, t.Inbox, workspace_id, inbox_id)
        if inbox.channel != channel.value:
            raise ChannelNotAllowed(
                f"inbox {inbox.id} is a {inbox.channel} inbox, not {channel.value}"
            )
        return inbox
    last = (
        await session.get(t.Inbox, conversation.last_inbound_inbox_id)
        if conversation.last_inbound_inbox_id is not None
        else None
    )
    if last is not None and last.channel == channel.value:
        return last
    if last is not None and last.address:
        same_number = (
            await session.execute(
                select(t.Inbox)
                .where(
                    t.Inbox.workspace_id == workspace_id,
                    t.Inbox.channel == channel.value,
                    t.Inbox.address == last.address,
                )
                .order_by(t.Inbox.id)
                .limit(1)
            )
        ).scalar_one_or_none()
        if same_number is not None:
            return same_number
    first = await first_inbox(session, workspace_id, channel)
    if first is None:
        raise ChannelNotAllowed(f"the workspace has no {channel.value} inbox to send from")
    return first
