"""Who is acting in this request: set once by the entrypoint, read by the audit writer.

Each HTTP request runs inside a `request_scope` (opened by the API's request middleware, with
the request id and the caller's address); signing the caller in (`act_as`, called where the
principal is resolved for the API and the pages alike) names the actor in it. Work done with
no scope or no actor (inbound customer messages, workers, timers) is not audited: a customer
writing in is not a change anyone made, and those paths pay nothing for the log.

A context variable holds a mutable scope object rather than the actor itself, so that the
actor a dependency names reaches the endpoint even when FastAPI runs one of them in another
context (a thread), and the middleware's reset ends it with the request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from threadline.domain.audit import Actor, ActorKind
from threadline.domain.security.access import Principal


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass
class AuditScope:
    request_id: str | None = None
    ip: str | None = None
    actor: Actor | None = None
    workspace_id: int | None = None
    # The runtime's clock, so entries carry the time every other row of the change carries.
    clock: Clock | None = None


_current: ContextVar[AuditScope | None] = ContextVar("threadline_audit_scope", default=None)


@contextmanager
def request_scope(request_id: str | None = None, ip: str | None = None) -> Iterator[AuditScope]:
    scope = AuditScope(request_id=request_id, ip=ip)
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def current_scope() -> AuditScope | None:
    return _current.get()


def act_as(principal: Principal, clock: Clock) -> None:
    """Name the caller of this request as the actor of what it changes."""
    scope = _current.get()
    if scope is None:
        return
    scope.clock = clock
    if principal.agent_id is not None:
        scope.actor = Actor(ActorKind.AGENT, principal.agent_id)
    elif principal.api_key_id is not None:
        scope.actor = Actor(ActorKind.API_KEY, principal.api_key_id)
    else:
        scope.actor = Actor(ActorKind.SYSTEM, None)
    scope.workspace_id = principal.workspace_id


def act_for_customer() -> None:
    """What follows is a customer's traffic that an app relays (an inbound message, a
    delivery report): no one's change, so not audited, and it pays nothing for the log."""
    scope = _current.get()
    if scope is not None:
        scope.actor = None


@contextmanager
def acting(actor: Actor, clock: Clock) -> Iterator[AuditScope]:
    """Act as `actor` outside a request (the command line, a test): a scope of its own."""
    with request_scope() as scope:
        scope.actor = actor
        scope.clock = clock
        yield scope
