"""What the SLA clocks do on events (a customer's message, an agent's reply or answered call,
a change of status) and on their timers (EVENT_HANDLERS, TIMER_HANDLERS)."""

from __future__ import annotations

from threadline.adapters.db import tables as t
from threadline.core.handlers import HandlerMap, on
from threadline.core.timers import TimerHandlerMap
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.events import ConversationUpdated, MessageCreated, MessageUpdated
from threadline.service_levels.clocks.escalation import on_breach_due, on_warning_due
from threadline.service_levels.clocks.starting import start_clocks_for_customer
from threadline.service_levels.clocks.status import sync_with_status
from threadline.service_levels.clocks.stopping import stop_responses
from threadline.service_levels.clocks.timers import BREACH_TIMER, WARNING_TIMER


async def on_message_created(uow: UnitOfWork, workspace_id: int, event: MessageCreated) -> None:
    conversation_id = event.conversation_id
    if conversation_id is None:
        return
    is_customer = event.from_customer
    is_agent_reply = event.agent_reply or event.answered_call
    if not (is_customer or is_agent_reply):
        return
    conversation = await uow.session.get(t.Conversation, conversation_id)
    if conversation is None or conversation.workspace_id != workspace_id:
        return
    now = uow.clock.now()
    if is_customer:
        await start_clocks_for_customer(uow, conversation, event.channel, now)
        if not event.answered_call:
            return
    await stop_responses(uow, conversation.id, now)


async def on_message_updated(uow: UnitOfWork, workspace_id: int, event: MessageUpdated) -> None:
    """A call that an agent picked up answers the customer, whichever way it went."""
    if event.conversation_id is None or not event.answered_call:
        return
    conversation = await uow.session.get(t.Conversation, event.conversation_id)
    if conversation is None or conversation.workspace_id != workspace_id:
        return
    await stop_responses(uow, conversation.id, uow.clock.now())


async def on_conversation_changed(
    uow: UnitOfWork, workspace_id: int, event: ConversationUpdated
) -> None:
    if event.conversation_id is None:
        return
    if event.status_changed is False:
        return  # only a change of status pauses, resumes or stops clocks
    conversation = await uow.session.get(t.Conversation, event.conversation_id)
    if conversation is None or conversation.workspace_id != workspace_id:
        return
    await sync_with_status(uow, conversation, uow.clock.now())


# Nothing for conversation.created: a new matter has no clocks yet, its first message starts
# them.
EVENT_HANDLERS: HandlerMap = (
    on(MessageCreated, on_message_created),
    on(MessageUpdated, on_message_updated),
    on(ConversationUpdated, on_conversation_changed),
)

TIMER_HANDLERS: TimerHandlerMap = {
    WARNING_TIMER: on_warning_due,
    BREACH_TIMER: on_breach_due,
}
