"""What a conversation needs from its agent (channel, skills, competence, language), read from
the conversation, the inbox the customer wrote to and the customer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.domain.channels import Channel
from threadline.domain.routing.scoring import Work


async def work_for(session: AsyncSession, conversation: t.Conversation) -> Work | None:
    """What the conversation needs; None when it has no inbound channel to route on."""
    if conversation.last_inbound_channel is None:
        return None
    inbox_routing = None
    if conversation.last_inbound_inbox_id is not None:
        inbox = await session.get(t.Inbox, conversation.last_inbound_inbox_id)
        if inbox is not None:
            inbox_routing = (inbox.settings or {}).get("routing")
    customer_language = None
    if not (conversation.attributes or {}).get("language"):
        customer = await session.get(t.Customer, conversation.customer_id)
        if customer is not None:
            customer_language = (customer.attributes or {}).get("language")
    return work_from(
        conversation.last_inbound_channel,
        conversation.attributes,
        inbox_routing,
        customer_language,
    )


def work_from(
    channel: str | None,
    attributes: Mapping[str, Any] | None,
    inbox_routing: Mapping[str, Any] | None,
    customer_language: object,
) -> Work | None:
    """What a conversation needs, from its inbound channel and attributes, the routing
    settings of the inbox the customer wrote to and the customer's language attribute.

    Required skills come from the inbox (settings.routing.required_skills, e.g. a billing
    address needs billing 5) overridden by the conversation's own attributes; the language
    from the conversation's, else the customer's, "language" attribute.
    """
    if channel is None:
        return None
    attributes = attributes or {}
    required: dict[str, int] = {}
    required.update(dict((inbox_routing or {}).get("required_skills") or {}))
    required.update(dict(attributes.get("required_skills") or {}))
    language = attributes.get("language") or customer_language
    return Work(
        channel=Channel(channel),
        required_skills={str(k): int(v) for k, v in required.items()},
        min_competence=int(attributes.get("min_competence", 1)),
        language=str(language) if language else None,
    )
