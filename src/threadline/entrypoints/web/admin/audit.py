"""The console's audit log: who changed what and when, filtered by actor, action, dates and
words, a page at a time (newest first), each entry's before and after on demand, and the
entries shown downloadable as CSV."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from threadline.audit import (
    AuditFilters,
    export_audit_csv,
    list_audit_entries,
    workspace_time_zone,
)
from threadline.domain.errors import DomainError
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web.admin._console import (
    CONSOLE_PATH,
    ConsolePage,
    console_render,
    open_console,
)

AUDIT_PATH = f"{CONSOLE_PATH}/audit"
router = APIRouter(prefix=AUDIT_PATH, include_in_schema=False)
# The filter form's fields, and how long each may be.
FIELDS = {"actor": 320, "action": 100, "q": 200, "from": 10, "to": 10}
PAGE_SIZE = 25


class BadFilter(DomainError):
    status = 422


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _day_start(text: str, zone: ZoneInfo, days_after: int = 0) -> datetime | None:
    """The start of the day `text` names (YYYY-MM-DD) in the workspace's zone."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadFilter(f"“{text}” is not a date (YYYY-MM-DD)") from None
    return datetime.combine(day + timedelta(days=days_after), time(), tzinfo=zone)


def _asked(request: Request) -> dict[str, str]:
    return {
        name: request.query_params.get(name, "").strip()[:size] for name, size in FIELDS.items()
    }


def _filters(asked: dict[str, str], zone: ZoneInfo) -> AuditFilters:
    return AuditFilters(
        actor=asked["actor"] or None,
        action=asked["action"] or None,
        text=asked["q"] or None,
        since=_day_start(asked["from"], zone),
        # "To" a day includes that day.
        until=_day_start(asked["to"], zone, days_after=1),
    )


def _shown(entry: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """An entry as the table shows it: its time in the workspace's zone, and its changed
    fields side by side."""
    before, after = entry["before"] or {}, entry["after"] or {}
    changes = [
        {
            "field": field,
            "before": json.dumps(before[field], ensure_ascii=False) if field in before else "",
            "after": json.dumps(after[field], ensure_ascii=False) if field in after else "",
        }
        for field in sorted(set(before) | set(after))
    ]
    at = datetime.fromisoformat(entry["at"]).astimezone(zone)
    local = {"local_date": at.strftime("%Y-%m-%d"), "local_time": at.strftime("%H:%M:%S")}
    return {**entry, **local, "changes": changes}


@router.get("", response_class=HTMLResponse, response_model=None)
async def audit_page(request: Request, runtime: RuntimeDep) -> Response:
    page = await open_console(request, runtime, "audit")
    if not isinstance(page, ConsolePage):
        return page
    asked = _asked(request)
    cursor = request.query_params.get("cursor", "")[:40] or None
    async with runtime.sessionmaker() as db:
        zone = _zone(await workspace_time_zone(db, page.principal))
        try:
            found = await list_audit_entries(
                db, page.principal, _filters(asked, zone), cursor=cursor, limit=PAGE_SIZE
            )
        except DomainError as error:
            return _render(request, page, asked, zone, [], None, str(error), error.status)
    entries = [_shown(e, zone) for e in found.entries]
    return _render(request, page, asked, zone, entries, found.next_cursor)


def _render(
    request: Request,
    page: ConsolePage,
    asked: dict[str, str],
    zone: ZoneInfo,
    entries: list[dict[str, Any]],
    next_cursor: str | None,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    kept = {name: value for name, value in asked.items() if value}
    context = {
        "asked": asked,
        "entries": entries,
        "zone": zone.key,
        "problem": problem,
        "next_page": f"{AUDIT_PATH}?{urlencode({**kept, 'cursor': next_cursor})}"
        if next_cursor
        else None,
        "export": f"{AUDIT_PATH}/export.csv" + (f"?{urlencode(kept)}" if kept else ""),
    }
    return console_render(request, page, "admin/audit.html", context, status_code=status_code)


@router.get("/export.csv", response_model=None)
async def audit_export(request: Request, runtime: RuntimeDep) -> Response:
    """The entries the filters find, every page of them, as a CSV download."""
    page = await open_console(request, runtime, "audit")
    if not isinstance(page, ConsolePage):
        return page
    async with runtime.sessionmaker() as db:
        zone = _zone(await workspace_time_zone(db, page.principal))
    try:
        filters = _filters(_asked(request), zone)
    except BadFilter as error:
        return Response(str(error), status_code=error.status, media_type="text/plain")
    return StreamingResponse(
        export_audit_csv(runtime.sessionmaker, page.principal, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
