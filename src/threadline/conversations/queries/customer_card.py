"""The customer card: who the customer is, what was promised, what is due, every matter so far."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.conversations.queries.conversation_views import conversation_views
from threadline.conversations.queries.visibility import visible_conversations
from threadline.core.lookups import customer_rows_newest_first, get_scoped
from threadline.core.views import customer_view, note_view, offer_view, task_view
from threadline.customers.identities import identities_of
from threadline.domain.conversations import ConversationStatus
from threadline.domain.security.access import Principal

CARD_LIST_LIMIT = 50


async def customer_card(
    session: AsyncSession, principal: Principal, customer_id: int, now: datetime
) -> dict[str, Any]:
    """Everything an agent needs on a new contact: who, what was promised (offers as they
    stand at `now`: expired ones as expired), what is due, and every matter so far."""
    ws = principal.workspace_id
    customer = await get_scoped(session, t.Customer, ws, customer_id)
    identities = await identities_of(session, ws, customer.id)
    notes = await customer_rows_newest_first(
        session, t.Note, ws, customer.id, limit=CARD_LIST_LIMIT
    )
    offers = await customer_rows_newest_first(
        session, t.Offer, ws, customer.id, limit=CARD_LIST_LIMIT
    )
    tasks = await _open_tasks(session, customer)
    conversations = await _visible_matters(session, principal, customer)
    return {
        "customer": customer_view(customer, identities),
        "notes": [note_view(n) for n in notes],
        "offers": [offer_view(o, now) for o in offers],
        "open_tasks": [task_view(k, now) for k in tasks],
        "conversations": {
            "total": len(conversations),
            "by_status": _count_by_status(conversations),
            "recent": await conversation_views(session, conversations[:CARD_LIST_LIMIT]),
        },
    }


async def _open_tasks(session: AsyncSession, customer: t.Customer) -> list[t.Task]:
    rows = await session.execute(
        select(t.Task)
        .where(
            t.Task.workspace_id == customer.workspace_id,
            t.Task.customer_id == customer.id,
            t.Task.status == "open",
        )
        .order_by(t.Task.due_at, t.Task.id)
        .limit(CARD_LIST_LIMIT)
    )
    return list(rows.scalars())


async def _visible_matters(
    session: AsyncSession, principal: Principal, customer: t.Customer
) -> list[t.Conversation]:
    """Every conversation of the customer the principal may see, latest activity first."""
    rows = await session.execute(
        select(t.Conversation)
        .where(
            t.Conversation.workspace_id == customer.workspace_id,
            t.Conversation.customer_id == customer.id,
            visible_conversations(principal),
        )
        .order_by(t.Conversation.last_message_at.desc(), t.Conversation.id.desc())
    )
    return list(rows.scalars())


def _count_by_status(conversations: list[t.Conversation]) -> dict[str, int]:
    counts = {status.value: 0 for status in ConversationStatus}
    for conversation in conversations:
        counts[conversation.status] = counts.get(conversation.status, 0) + 1
    return counts
