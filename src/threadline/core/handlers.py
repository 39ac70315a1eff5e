"""Handlers that react to domain events inside the transaction that raised them.

A use-case stays about one thing (receive a message, reply, resolve) while other capabilities
(SLA clocks, routing) keep their own state consistent with it: a handler runs before commit,
in the same unit of work, so either both changes land or neither does. A handler may emit
further events; those are handled too.

Modules that hold handlers are listed in HANDLER_MODULES and register with `handles`.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from threadline.domain.events import DomainEvent, EventType

if TYPE_CHECKING:
    from threadline.core.unit_of_work import UnitOfWork

Handler = Callable[["UnitOfWork", int, DomainEvent], Awaitable[None]]

HANDLER_MODULES: list[str] = [
    "threadline.follow_ups.due",
    "threadline.csat.survey",
    "threadline.csat.answers",
    "threadline.service_levels.clocks",
    "threadline.routing.handlers",
]

_registry: dict[EventType, list[Handler]] = {}


def handles(*event_types: EventType) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for event_type in event_types:
            _registry.setdefault(event_type, []).append(handler)
        return handler

    return register


def collect_handlers() -> dict[EventType, list[Handler]]:
    for module in HANDLER_MODULES:
        importlib.import_module(module)
    return {event_type: list(handlers) for event_type, handlers in _registry.items()}
