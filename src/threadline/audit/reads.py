"""What admins read of the audit log: entries filtered, the newest first, a page at a time by
keyset (the id of the last entry shown), and the same entries as a streamed CSV file."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from threadline.adapters.db import tables as t
from threadline.audit.facts import record_change
from threadline.domain.bounds import row_id_from_text
from threadline.domain.errors import DomainError
from threadline.domain.security.access import Principal, Role, require_role

MAX_PAGE = 100
DEFAULT_PAGE = 50
EXPORT_BATCH = 500
CSV_COLUMNS = (
    "id",
    "at",
    "actor_kind",
    "actor_id",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "request_id",
    "ip",
)


@dataclass(frozen=True, slots=True)
class AuditFilters:
    # Part of the actor's name (or an email a failed sign-in was tried with), any case.
    actor: str | None = None
    # The start of the action: "agent." finds every change of agents.
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    # Words anywhere in the action, the object or the actor.
    text: str | None = None


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[dict[str, Any]]
    next_cursor: str | None


def entry_view(entry: t.AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor": {"kind": entry.actor_kind, "id": entry.actor_id, "name": entry.actor_name},
        "action": entry.action,
        "object": {"type": entry.object_type, "id": entry.object_id},
        "before": entry.before,
        "after": entry.after,
        "request_id": entry.request_id,
        "ip": entry.ip,
    }


def _conditions(workspace_id: int, filters: AuditFilters) -> list[ColumnElement[bool]]:
    entry = t.AuditEntry
    conditions: list[ColumnElement[bool]] = [entry.workspace_id == workspace_id]
    if filters.actor:
        conditions.append(
            func.lower(entry.actor_name).contains(filters.actor.strip().lower(), autoescape=True)
        )
    if filters.action:
        conditions.append(entry.action.startswith(filters.action.strip(), autoescape=True))
    if filters.object_type:
        conditions.append(entry.object_type == filters.object_type.strip())
    if filters.object_id:
        conditions.append(entry.object_id == filters.object_id.strip())
    if filters.since is not None:
        conditions.append(entry.at >= filters.since)
    if filters.until is not None:
        conditions.append(entry.at < filters.until)
    for word in (filters.text or "").lower().split():
        conditions.append(entry.search_text.contains(word, autoescape=True))
    return conditions


def _before_id(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    before = row_id_from_text(cursor)
    if before is None:
        raise DomainError(f"invalid cursor {cursor[:40]!r}: give the next_cursor of a page")
    return before


async def _rows(
    session: AsyncSession, workspace_id: int, filters: AuditFilters, before: int | None, size: int
) -> list[t.AuditEntry]:
    statement = select(t.AuditEntry).where(*_conditions(workspace_id, filters))
    if before is not None:
        statement = statement.where(t.AuditEntry.id < before)
    statement = statement.order_by(t.AuditEntry.id.desc()).limit(size)
    return list((await session.execute(statement)).scalars())


async def list_audit_entries(
    session: AsyncSession,
    principal: Principal,
    filters: AuditFilters,
    *,
    cursor: str | None = None,
    limit: int | None = None,
) -> AuditPage:
    """The newest entries matching `filters` (ids only grow, so the newest written first),
    after the page that ended at `cursor`."""
    require_role(principal, Role.ADMIN)
    size = DEFAULT_PAGE if limit is None else limit
    if not 1 <= size <= MAX_PAGE:
        raise DomainError(f"limit must be between 1 and {MAX_PAGE}")
    rows = await _rows(session, principal.workspace_id, filters, _before_id(cursor), size + 1)
    more = len(rows) > size
    rows = rows[:size]
    return AuditPage([entry_view(r) for r in rows], str(rows[-1].id) if more else None)


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: never a formula (=, +, -, @ first)."""
    text = "" if value is None else value if isinstance(value, str) else json.dumps(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([_cell(v) for v in values])
    return buffer.getvalue()


def require_audit_reader(principal: Principal) -> None:
    """Checked before an export's answer starts: a refusal must be its status, not a cut file."""
    require_role(principal, Role.ADMIN)


async def export_audit_csv(
    sessionmaker: async_sessionmaker[AsyncSession], principal: Principal, filters: AuditFilters
) -> AsyncIterator[str]:
    """Every matching entry as CSV lines, the newest first, read a batch at a time (each in a
    short session of its own, so a long download holds no transaction open)."""
    require_audit_reader(principal)
    async with sessionmaker() as session:
        # An export is itself a fact of the log (who took a copy of it, and of what).
        asked = {name: value for name, value in asdict(filters).items() if value is not None}
        await record_change(
            session, principal.workspace_id, "audit_log.exported", "audit_log", None, after=asked
        )
        await session.commit()
    yield _csv_line(list(CSV_COLUMNS))
    before: int | None = None
    while True:
        async with sessionmaker() as session:
            rows = await _rows(session, principal.workspace_id, filters, before, EXPORT_BATCH)
        for row in rows:
            view = entry_view(row)
            yield _csv_line(
                [
                    row.id,
                    view["at"],
                    row.actor_kind,
                    row.actor_id,
                    row.actor_name,
                    row.action,
                    row.object_type,
                    row.object_id,
                    row.before,
                    row.after,
                    row.request_id,
                    row.ip,
                ]
            )
        if len(rows) < EXPORT_BATCH:
            return
        before = rows[-1].id


async def workspace_time_zone(session: AsyncSession, principal: Principal) -> str:
    """The zone the workspace's people read times in (its setting; UTC when unset)."""
    zone = (
        await session.execute(
            select(t.Workspace.timezone).where(t.Workspace.id == principal.workspace_id)
        )
    ).scalar_one_or_none()
    return zone or "UTC"
