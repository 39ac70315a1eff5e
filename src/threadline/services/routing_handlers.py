"""Routing reacts to what happens, inside the transaction that made it happen:
work arrives (an inbound message on an unassigned conversation, in auto mode), a conversation
is resolved or handed over (its assignment ends, freeing capacity for the queue), and an agent
comes online (they are offered waiting work)."""

from __future__ import annotations

from threadline.adapters.db import tables as t
from threadline.domain.agent_profile import Presence
from threadline.domain.conversations import ConversationStatus
from threadline.domain.events import DomainEvent, EventType
from threadline.services.event_handlers import handles
from threadline.services.routing import is_auto, offer_waiting_work, reconcile, route_conversation
from threadline.services.unit_of_work import UnitOfWork


@handles(EventType.CONVERSATION_UPDATED)
async def on_conversation_updated(uow: UnitOfWork, workspace_id: int, event: DomainEvent) -> None:
    # Routing's own updates are already consistent with the history.
    if event.payload.get("routing") or event.conversation_id is None:
        return
    if event.payload.get("status_changed") is False:
        return  # a message joined an open conversation: status and assignee are as they were
    await reconcile(
        uow, workspace_id, event.conversation_id, from_inbound="placement" in event.payload
    )


@handles(EventType.MESSAGE_CREATED)
async def on_message_created(uow: UnitOfWork, workspace_id: int, event: DomainEvent) -> None:
    message = event.payload.get("message", {})
    if message.get("direction") != "inbound" or (message.get("meta") or {}).get("automated"):
        return
    if event.conversation_id is None or not await is_auto(uow.session, workspace_id):
        return
    conversation = await uow.session.get(t.Conversation, event.conversation_id)
    if (
        conversation is None
        or conversation.assignee_id is not None
        or conversation.status != ConversationStatus.OPEN.value
    ):
        return
    await route_conversation(uow, workspace_id, event.conversation_id)


@handles(EventType.AGENT_UPDATED)
async def on_agent_updated(uow: UnitOfWork, workspace_id: int, event: DomainEvent) -> None:
    agent = event.payload.get("agent", {})
    if agent.get("presence") == Presence.ONLINE.value and agent.get("id") is not None:
        await offer_waiting_work(uow, workspace_id, int(agent["id"]))
