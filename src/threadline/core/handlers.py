"""Handlers that react to domain events inside the transaction that raised them.

A use-case stays about one thing (receive a message, reply, resolve) while other capabilities
(SLA clocks, routing) keep their own state consistent with it: a handler runs before commit,
in the same unit of work, so either both changes land or neither does. A handler may emit
further events; those are handled too.

A handler takes the event class it is registered for, typed:
`async def on_message_created(uow, workspace_id, event: MessageCreated) -> None`. Each
capability lists its handlers in an `EVENT_HANDLERS` tuple of `on(EventClass, handler, ...)`;
`bootstrap.event_handlers` gathers them, in a fixed order, into the unit-of-work factory.
Nothing registers itself by being imported.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from threadline.core.unit_of_work import Handler, UnitOfWork
from threadline.domain.events import DomainEvent

__all__ = ["Handler", "HandlerMap", "Reactions", "gather_handlers", "on"]

E = TypeVar("E", bound=DomainEvent)


@dataclass(frozen=True, slots=True)
class Reactions:
    """The handlers one capability runs for one event class, in order."""

    event_class: type[DomainEvent]
    handlers: tuple[Handler, ...]


def on(
    event_class: type[E], *handlers: Callable[[UnitOfWork, int, E], Awaitable[None]]
) -> Reactions:
    """Register `handlers` for `event_class`; each must accept that class (checked by mypy)."""
    return Reactions(event_class, handlers)


HandlerMap = Sequence[Reactions]


def gather_handlers(*maps: HandlerMap) -> dict[type[DomainEvent], list[Handler]]:
    """One list per event class: the handlers of the first map first, and so on."""
    gathered: dict[type[DomainEvent], list[Handler]] = {}
    for handler_map in maps:
        for reactions in handler_map:
            gathered.setdefault(reactions.event_class, []).extend(reactions.handlers)
    return gathered
