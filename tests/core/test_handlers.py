"""Event handlers are registered per event class and gathered in a fixed order (no database)."""

from __future__ import annotations

from threadline import bootstrap
from threadline.core.handlers import gather_handlers, on
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.events import (
    AgentUpdated,
    ConversationUpdated,
    MessageCreated,
    MessageUpdated,
    TaskCreated,
    TaskUpdated,
)
from threadline.follow_ups import due as follow_ups_due
from threadline.routing import handlers as routing_handlers
from threadline.service_levels.clocks import handlers as service_level_clocks


async def _first(uow: UnitOfWork, workspace_id: int, event: MessageCreated) -> None:
    return None


async def _second(uow: UnitOfWork, workspace_id: int, event: MessageCreated | TaskCreated) -> None:
    return None


def test_handlers_are_gathered_per_event_class_in_the_order_given() -> None:
    gathered = gather_handlers(
        (on(MessageCreated, _first), on(TaskCreated, _second)),
        (on(MessageCreated, _second),),
    )
    assert gathered == {MessageCreated: [_first, _second], TaskCreated: [_second]}


def test_the_runtime_runs_follow_ups_then_sla_clocks_then_routing() -> None:
    handlers = bootstrap.event_handlers()
    assert handlers == {
        TaskCreated: [follow_ups_due.keep_due_timer],
        TaskUpdated: [follow_ups_due.keep_due_timer],
        MessageCreated: [
            service_level_clocks.on_message_created,
            routing_handlers.on_message_created,
        ],
        MessageUpdated: [service_level_clocks.on_message_updated],
        ConversationUpdated: [
            service_level_clocks.on_conversation_changed,
            routing_handlers.on_conversation_updated,
        ],
        AgentUpdated: [routing_handlers.on_agent_updated],
    }
