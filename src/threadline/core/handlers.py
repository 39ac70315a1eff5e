"""Handlers that react to domain events inside the transaction that raised them.

A use-case stays about one thing (receive a message, reply, resolve) while other capabilities
(SLA clocks, routing) keep their own state consistent with it: a handler runs before commit,
in the same unit of work, so either both changes land or neither does. A handler may emit
further events; those are handled too.

Each capability lists its handlers in an `EVENT_HANDLERS` map; `bootstrap.event_handlers`
gathers them, in a fixed order, into the unit-of-work factory. Nothing registers itself by
being imported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from threadline.core.unit_of_work import Handler
from threadline.domain.events import EventType

__all__ = ["Handler", "HandlerMap", "gather_handlers"]

HandlerMap = Mapping[EventType, Sequence[Handler]]


def gather_handlers(*maps: HandlerMap) -> dict[EventType, list[Handler]]:
    """One list per event type: the handlers of the first map first, and so on."""
    gathered: dict[EventType, list[Handler]] = {}
    for handler_map in maps:
        for event_type, handlers in handler_map.items():
            gathered.setdefault(event_type, []).extend(handlers)
    return gathered
