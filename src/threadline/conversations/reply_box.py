"""reply_options: on which channels can the agent answer this customer now, and how.

The reply box asks this before the agent types, so a closed WhatsApp window is shown as
"send a template" rather than discovered as a failed message later.
"""

from __future__ import annotations

from typing import Any

from threadline.conversations.reply_channel import (
    default_reply_channel,
    pick_inbox,
)
from threadline.conversations.reply_rules import channel_rules, window_for
from threadline.core.lookups import get_visible_conversation
from threadline.core.unit_of_work import UnitOfWork
from threadline.customers.identities import identities_of
from threadline.domain.channels import IDENTITY_FOR_CHANNEL, IdentityKind, reachable_channels
from threadline.domain.errors import ChannelNotAllowed
from threadline.domain.security.access import Principal


async def reply_options(
    uow: UnitOfWork, principal: Principal, conversation_id: int
) -> dict[str, Any]:
    """The channels a written reply may go by (never a call: it carries no text), each with
    its inbox, recipient and rules; the default channel, and `default_reason` when it is not
    simply the latest inbound channel (after a call: SMS or WhatsApp to the caller's number,
    or no default at all when no inbox can carry text to it, saying so)."""
    session = uow.session
    ws = principal.workspace_id
    conversation = await get_visible_conversation(session, principal, conversation_id)
    identities = await identities_of(session, ws, conversation.customer_id, newest_first=True)
    allowed = reachable_channels({IdentityKind(i.kind) for i in identities})
    now = uow.clock.now()
    options: list[dict[str, Any]] = []
    for channel in allowed:
        recipient = next(i for i in identities if i.kind == IDENTITY_FOR_CHANNEL[channel].value)
        try:
            inbox = await pick_inbox(session, ws, conversation, channel, None)
        except ChannelNotAllowed as exc:
            options.append(
                {
                    "channel": channel.value,
                    "inbox_id": None,
                    "recipient": recipient.value,
                    "available": False,
                    "text_allowed": False,
                    "reason": exc.reason,
                }
            )
            continue
        window = await window_for(session, ws, conversation.customer_id, channel, inbox, now)
        rules = channel_rules(window, inbox)
        options.append(
            {
                "channel": channel.value,
                "inbox_id": inbox.id,
                "recipient": recipient.value,
                "available": rules["text_allowed"] or bool(rules["templates"]),
                **rules,
            }
        )
    default = await default_reply_channel(session, ws, conversation, allowed, identities, now)
    return {
        "conversation_id": conversation.id,
        "default_channel": default.channel.value if default.channel is not None else None,
        "default_reason": default.reason,
        "channels": options,
    }
