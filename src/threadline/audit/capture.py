"""Writing audit entries in the same transaction as the change they describe.

Where: one SQLAlchemy `after_flush` listener on every session, rather than a line in each
use-case. By then the flush has given new rows their ids, and each changed row still carries
its attribute history (the values before and after), so one place sees every ORM change of an
audited table (audited.py) and writes its entry on the flush's own connection: a change rolled
back takes its entry with it, and a use-case written tomorrow is audited without remembering
to be. Who acted comes from the request's audit scope (scope.py); without an actor the
listener returns at once, so customer traffic and workers pay one context-variable read.

The few writes that go round the ORM (signing out, signing in) call `write_entry` themselves.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, UOWTransaction

from threadline.adapters.db import tables as t
from threadline.audit.audited import AUDITED, BOOKKEEPING, Audited
from threadline.audit.scope import AuditScope, current_scope
from threadline.domain.audit import Actor, ActorKind, search_text, shown_fields


def install() -> None:
    """Listen on every session (once): called by bootstrap."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    scope = current_scope()
    if scope is None or scope.actor is None:
        return
    found: list[dict[str, Any]] = []
    for kind, rows in (
        ("created", session.new),
        ("updated", session.dirty),
        ("deleted", session.deleted),
    ):
        for row in rows:
            audited = AUDITED.get(getattr(row, "__tablename__", ""))
            if audited is None or (audited.counts is not None and not audited.counts(row)):
                continue
            change = _change(row, kind)
            if change is not None:
                found.append(_entry_fields(row, audited, kind, *change))
    if found:
        connection = session.connection()
        actor = named_actor(connection, scope)
        now = scope_now(scope)
        for fields in found:
            write_entry(connection, actor=actor, at=now, scope=scope, **fields)


def _change(row: Any, kind: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None] | None:
    """(before, after) of the row's columns; None when nothing worth a line changed."""
    state = inspect(row)
    columns = [attr.key for attr in state.mapper.column_attrs]
    if kind == "created":
        return None, {key: state.dict.get(key) for key in columns}
    if kind == "deleted":
        return {key: state.dict.get(key) for key in columns}, None
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key in columns:
        if key in BOOKKEEPING:
            continue
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old != new:
            before[key], after[key] = old, new
    return (before, after) if after else None


def _entry_fields(
    row: Any,
    audited: Audited,
    kind: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> dict[str, Any]:
    mapper = inspect(row).mapper
    key = "/".join(str(getattr(row, column.key)) for column in mapper.primary_key)
    verb = kind
    if audited.verb is not None and kind == "updated":
        verb = audited.verb(kind, before or {}, after or {})
    workspace_id = row.id if isinstance(row, t.Workspace) else row.workspace_id
    return {
        "workspace_id": workspace_id,
        "action": f"{audited.object_type}.{verb}",
        "object_type": audited.object_type,
        "object_id": key,
        "before": None if before is None else shown_fields(before, audited.withheld),
        "after": None if after is None else shown_fields(after, audited.withheld),
    }


def named_actor(connection: Connection, scope: AuditScope) -> Actor:
    """The scope's actor with its name, looked up once per request."""
    actor = scope.actor
    assert actor is not None
    if actor.name or actor.id is None:
        return actor
    if actor.kind is ActorKind.AGENT:
        name = connection.execute(select(t.Agent.name).where(t.Agent.id == actor.id)).scalar()
    elif actor.kind is ActorKind.API_KEY:
        name = connection.execute(select(t.ApiKey.name).where(t.ApiKey.id == actor.id)).scalar()
    else:
        name = None
    scope.actor = replace(actor, name=name or "")
    return scope.actor


def scope_now(scope: AuditScope | None) -> datetime:
    if scope is not None and scope.clock is not None:
        now: datetime = scope.clock.now()
        return now
    return datetime.now(UTC)


def write_entry(
    connection: Connection,
    *,
    workspace_id: int,
    actor: Actor,
    at: datetime,
    action: str,
    object_type: str,
    object_id: str | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    scope: AuditScope | None = None,
) -> None:
    connection.execute(
        insert(t.AuditEntry).values(
            workspace_id=workspace_id,
            at=at,
            actor_kind=actor.kind.value,
            actor_id=actor.id,
            actor_name=actor.name[:320],
            action=action,
            object_type=object_type,
            # A composite key (a conversation and a label) can be long; the column holds 300.
            object_id=object_id[:300] if object_id is not None else None,
            before=before,
            after=after,
            request_id=scope.request_id if scope else None,
            ip=scope.ip if scope else None,
            search_text=search_text(action, object_type, object_id, actor.name),
        )
    )
