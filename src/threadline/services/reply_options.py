"""reply_options: on which channels can the agent answer this customer now, and how.

The reply box asks this before the agent types, so a closed WhatsApp window is shown as
"send a template" rather than discovered as a failed message later.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from threadline.adapters.db import tables as t
from threadline.domain.access import Principal
from threadline.domain.channels import IDENTITY_FOR_CHANNEL, IdentityKind, reachable_channels
from threadline.domain.errors import ChannelNotAllowed
from threadline.services.lookups import get_visible_conversation
from threadline.services.reply import _default_channel, _pick_inbox
from threadline.services.reply_rules import channel_rules, window_for
from threadline.services.unit_of_work import UnitOfWork


async def reply_options(
    uow: UnitOfWork, principal: Principal, conversation_id: int
) -> dict[str, Any]:
    session = uow.session
    ws = principal.workspace_id
    conversation = await get_visible_conversation(session, principal, conversation_id)
    identities = (
        (
            await session.execute(
                select(t.Identity)
                .where(
                    t.Identity.workspace_id == ws,
                    t.Identity.customer_id == conversation.customer_id,
                )
                .order_by(t.Identity.created_at.desc(), t.Identity.id.desc())
            )
        )
        .scalars()
        .all()
    )
    allowed = reachable_channels({IdentityKind(i.kind) for i in identities})
    now = uow.clock.now()
    options: list[dict[str, Any]] = []
    for channel in allowed:
        recipient = next(i for i in identities if i.kind == IDENTITY_FOR_CHANNEL[channel].value)
        try:
            inbox = await _pick_inbox(uow, ws, conversation, channel, None)
        except ChannelNotAllowed as exc:
            options.append(
                {
                    "channel": channel.value,
                    "inbox_id": None,
                    "recipient": recipient.value,
                    "available": False,
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
    try:
        default = _default_channel(conversation, allowed).value
    except ChannelNotAllowed:
        default = None
    return {"conversation_id": conversation.id, "default_channel": default, "channels": options}
