"""Configuring service levels: business calendars, SLA policies, the demo defaults, and the
per-conversation SLA report.

Changing a calendar moves the deadlines of every running clock that counts on it and
re-arms their timers in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, text, update

from threadline.adapters.db import tables as t
from threadline.adapters.db.engine import on_postgresql
from threadline.adapters.db.types import UTCDateTime
from threadline.core.lookups import get_visible_conversation
from threadline.core.timers import ARMED
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import iso
from threadline.domain.access import Principal, Role, require_role
from threadline.domain.business_calendar import BusinessCalendar
from threadline.domain.errors import Conflict, DomainError, NotFound
from threadline.domain.sla import (
    ClockKind,
    ClockState,
    InvalidPolicy,
    due_at,
    normalise_conditions,
    normalise_escalation,
    warning_at,
)
from threadline.service_levels.clocks import build_calendar, clock_view

HOUR = 3600
OFFICE_WEEK = {str(day): [["08:00", "16:00"]] for day in range(5)}


# -- calendars ---------------------------------------------------------------------------------


def calendar_view(row: t.BusinessCalendarRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "timezone": row.timezone,
        "weekly": row.weekly,
        "holiday_country": row.holiday_country,
        "holiday_subdivision": row.holiday_subdivision,
        "custom_holidays": row.custom_holidays,
        "always_open": row.always_open,
        "updated_at": iso(row.updated_at),
    }


async def _calendar(uow: UnitOfWork, workspace_id: int, calendar_id: int) -> t.BusinessCalendarRow:
    row = (
        await uow.session.execute(
            select(t.BusinessCalendarRow)
            .where(
                t.BusinessCalendarRow.id == calendar_id,
                t.BusinessCalendarRow.workspace_id == workspace_id,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"business calendar {calendar_id} not found")
    return row


async def _name_is_free(
    uow: UnitOfWork, model: Any, workspace_id: int, name: str, own: int
) -> None:
    clash = await uow.session.execute(
        select(model.id).where(
            model.workspace_id == workspace_id, model.name == name, model.id != own
        )
    )
    if clash.first() is not None:
        raise Conflict(f"the name {name!r} is already used in this workspace")


CALENDAR_FIELDS = frozenset(
    {
        "name",
        "timezone",
        "weekly",
        "holiday_country",
        "holiday_subdivision",
        "custom_holidays",
        "always_open",
    }
)


async def create_calendar(
    uow: UnitOfWork, principal: Principal, fields: dict[str, Any]
) -> t.BusinessCalendarRow:
    require_role(principal, Role.ADMIN)
    now = uow.clock.now()
    row = t.BusinessCalendarRow(
        workspace_id=principal.workspace_id,
        name=fields["name"],
        timezone=fields.get("timezone") or "UTC",
        weekly=fields.get("weekly") or {},
        holiday_country=fields.get("holiday_country"),
        holiday_subdivision=fields.get("holiday_subdivision"),
        custom_holidays=list(fields.get("custom_holidays") or []),
        always_open=bool(fields.get("always_open", False)),
        created_at=now,
        updated_at=now,
    )
    await _name_is_free(uow, t.BusinessCalendarRow, principal.workspace_id, row.name, 0)
    _validate_calendar(row, now)
    uow.session.add(row)
    await uow.session.flush()
    return row


async def update_calendar(
    uow: UnitOfWork, principal: Principal, calendar_id: int, changes: dict[str, Any]
) -> tuple[t.BusinessCalendarRow, int]:
    """Apply the changes; returns the calendar and how many running deadlines moved."""
    require_role(principal, Role.ADMIN)
    row = await _calendar(uow, principal.workspace_id, calendar_id)
    for name, value in changes.items():
        if name not in CALENDAR_FIELDS:
            raise DomainError(f"{name} cannot be changed on a calendar")
        setattr(row, name, list(value) if name == "custom_holidays" else value)
    if "name" in changes:
        await _name_is_free(uow, t.BusinessCalendarRow, row.workspace_id, row.name, row.id)
    now = uow.clock.now()
    row.updated_at = now
    _validate_calendar(row, now)
    await uow.session.flush()
    moved = await recompute_open_deadlines(uow, row.workspace_id, row.id)
    return row, moved


def _validate_calendar(row: t.BusinessCalendarRow, now: datetime) -> BusinessCalendar:
    # Building it checks the time zone, the ranges, the holiday country and the dates.
    return build_calendar(row, now)


async def list_calendars(uow: UnitOfWork, principal: Principal) -> list[t.BusinessCalendarRow]:
    return list(
        (
            await uow.session.execute(
                select(t.BusinessCalendarRow)
                .where(t.BusinessCalendarRow.workspace_id == principal.workspace_id)
                .order_by(t.BusinessCalendarRow.id)
            )
        ).scalars()
    )


async def recompute_open_deadlines(uow: UnitOfWork, workspace_id: int, calendar_id: int) -> int:
    """New deadlines for the running clocks on this calendar, with their armed timers moved.
    Paused clocks get theirs when they resume. Written in bulk (two executemany updates),
    because a calendar may carry many thousands of open conversations."""
    session = uow.session
    calendar_row = await _calendar(uow, workspace_id, calendar_id)
    clocks = (
        await session.execute(
            select(
                t.SlaClock.id,
                t.SlaClock.started_at,
                t.SlaClock.target_seconds,
                t.SlaClock.paused_seconds,
                t.SlaClock.warning_ratio,
                t.SlaClock.warned_at,
                t.SlaClock.breached_at,
                t.SlaClock.due_at,
            ).where(
                t.SlaClock.workspace_id == workspace_id,
                t.SlaClock.calendar_id == calendar_id,
                t.SlaClock.stopped_at.is_(None),
                t.SlaClock.paused_at.is_(None),
            )
            # No FOR UPDATE: locking 100,000 rows costs a write each. The updates below
            # touch only clocks still running and timers still armed, so a clock stopped
            # meanwhile keeps its outcome and its cancelled timers stay cancelled.
        )
    ).all()
    calendars: dict[int, BusinessCalendar] = {}
    moved: list[tuple[int, datetime]] = []  # (clock id, new deadline)
    timers: list[tuple[int, str, datetime]] = []  # (clock id, "breach"/"warning", fire at)
    for clock in clocks:
        year = clock.started_at.year
        calendar = calendars.get(year)
        if calendar is None:
            calendar = calendars[year] = build_calendar(calendar_row, clock.started_at)
        state = ClockState(
            started_at=clock.started_at,
            target=timedelta(seconds=clock.target_seconds),
            paused=timedelta(seconds=clock.paused_seconds),
        )
        new_due = due_at(state, calendar)
        if new_due == clock.due_at:
            continue
        moved.append((clock.id, new_due))
        if clock.breached_at is None:
            timers.append((clock.id, "breach", new_due))
        if clock.warned_at is None and clock.warning_ratio < 1:
            timers.append((clock.id, "warning", warning_at(state, calendar, clock.warning_ratio)))
    if on_postgresql(session):
        await _write_postgres(uow, workspace_id, moved, timers)
    else:
        await _write_executemany(uow, workspace_id, moved, timers)
    return len(moved)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


async def _write_postgres(
    uow: UnitOfWork,
    workspace_id: int,
    moved: list[tuple[int, datetime]],
    timers: list[tuple[int, str, datetime]],
) -> None:
    # One statement each with the new values as integer arrays (ids, epoch microseconds):
    # a round trip per row, or dumping strings and datetimes one by one, would dominate the
    # time for a calendar with many open conversations.
    if moved:
        await uow.session.execute(
            text(
                "UPDATE sla_clocks SET due_at = timestamptz 'epoch' + v.us * interval '1 microsecond' "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:us AS bigint[])) AS v(id, us) "
                "WHERE sla_clocks.id = v.id AND sla_clocks.stopped_at IS NULL"
            ),
            {"ids": [m[0] for m in moved], "us": [_micros(m[1]) for m in moved]},
        )
    for stage in ("breach", "warning"):
        rows = [timer for timer in timers if timer[1] == stage]
        if not rows:
            continue
        await uow.session.execute(
            text(
                "UPDATE timers SET fire_at = timestamptz 'epoch' + v.us * interval '1 microsecond', "
                "locked_until = NULL "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:us AS bigint[])) AS v(id, us) "
                "WHERE timers.workspace_id = :ws AND timers.status = :armed "
                "AND timers.key = 'sla:' || v.id || :suffix"
            ),
            {
                "ids": [row[0] for row in rows],
                "us": [_micros(row[2]) for row in rows],
                "ws": workspace_id,
                "armed": ARMED,
                "suffix": f":{stage}",
            },
        )


async def _write_executemany(
    uow: UnitOfWork,
    workspace_id: int,
    moved: list[tuple[int, datetime]],
    timers: list[tuple[int, str, datetime]],
) -> None:
    # Core tables, not the mapped classes: a list of parameters then means a plain executemany.
    clocks_table = cast(Table, t.SlaClock.__table__)
    timers_table = cast(Table, t.Timer.__table__)
    if moved:
        await uow.session.execute(
            update(clocks_table)
            .where(clocks_table.c.id == bindparam("b_id"), clocks_table.c.stopped_at.is_(None))
            .values(due_at=bindparam("b_due", type_=UTCDateTime())),
            [{"b_id": clock_id, "b_due": due} for clock_id, due in moved],
        )
    if timers:
        await uow.session.execute(
            update(timers_table)
            .where(
                timers_table.c.workspace_id == workspace_id,
                timers_table.c.key == bindparam("b_key"),
                timers_table.c.status == ARMED,
            )
            .values(fire_at=bindparam("b_fire", type_=UTCDateTime()), locked_until=None),
            [
                {"b_key": f"sla:{clock_id}:{stage}", "b_fire": fire}
                for clock_id, stage, fire in timers
            ],
        )


# -- policies ----------------------------------------------------------------------------------

POLICY_FIELDS = frozenset(
    {
        "name",
        "position",
        "conditions",
        "first_response_seconds",
        "next_response_seconds",
        "resolution_seconds",
        "calendar_id",
        "warning_ratio",
        "escalation",
        "active",
    }
)


def policy_view(row: t.SlaPolicy) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "position": row.position,
        "conditions": row.conditions,
        "first_response_seconds": row.first_response_seconds,
        "next_response_seconds": row.next_response_seconds,
        "resolution_seconds": row.resolution_seconds,
        "calendar_id": row.calendar_id,
        "warning_ratio": row.warning_ratio,
        "escalation": row.escalation,
        "active": row.active,
    }


async def _apply_policy_fields(uow: UnitOfWork, row: t.SlaPolicy, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        if name not in POLICY_FIELDS:
            raise DomainError(f"{name} cannot be set on an SLA policy")
        if name == "conditions":
            value = normalise_conditions(value or {})
        elif name == "escalation":
            value = normalise_escalation(value or {})
        elif name.endswith("_seconds") and value is not None and value <= 0:
            raise InvalidPolicy(f"{name} must be positive (or null for no target)")
        elif name == "warning_ratio" and not 0 < float(value) <= 1:
            raise InvalidPolicy("warning_ratio is a share of the target between 0 and 1")
        elif name == "calendar_id" and value is not None:
            await _calendar(uow, row.workspace_id, int(value))
        setattr(row, name, value)
    await _name_is_free(uow, t.SlaPolicy, row.workspace_id, row.name, row.id or 0)


async def create_policy(
    uow: UnitOfWork, principal: Principal, fields: dict[str, Any]
) -> t.SlaPolicy:
    require_role(principal, Role.ADMIN)
    now = uow.clock.now()
    row = t.SlaPolicy(
        workspace_id=principal.workspace_id,
        name="",
        position=0,
        conditions={},
        warning_ratio=0.8,
        escalation={},
        active=True,
        created_at=now,
        updated_at=now,
    )
    await _apply_policy_fields(uow, row, fields)
    uow.session.add(row)
    await uow.session.flush()
    return row


async def update_policy(
    uow: UnitOfWork, principal: Principal, policy_id: int, changes: dict[str, Any]
) -> t.SlaPolicy:
    """New targets apply to clocks started from now on; running ones keep their promise."""
    require_role(principal, Role.ADMIN)
    row = (
        await uow.session.execute(
            select(t.SlaPolicy)
            .where(t.SlaPolicy.id == policy_id, t.SlaPolicy.workspace_id == principal.workspace_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"SLA policy {policy_id} not found")
    await _apply_policy_fields(uow, row, changes)
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    return row


async def list_policies(uow: UnitOfWork, principal: Principal) -> list[t.SlaPolicy]:
    return list(
        (
            await uow.session.execute(
                select(t.SlaPolicy)
                .where(t.SlaPolicy.workspace_id == principal.workspace_id)
                .order_by(t.SlaPolicy.position, t.SlaPolicy.id)
            )
        ).scalars()
    )


# -- demo defaults -----------------------------------------------------------------------------


async def seed_default_sla(uow: UnitOfWork, workspace_id: int) -> bool:
    """The shipped defaults: email answered within 6 working hours (Mon-Fri 08:00-16:00
    Warsaw, Polish public holidays), web chat within 2 minutes and a missed call returned
    within 1 hour, round the clock; everything else within 8 working hours. Does nothing if
    the workspace has policies already; returns whether it seeded."""
    existing = await uow.session.execute(
        select(func.count())
        .select_from(t.SlaPolicy)
        .where(t.SlaPolicy.workspace_id == workspace_id)
    )
    if existing.scalar_one():
        return False
    now = uow.clock.now()
    office = t.BusinessCalendarRow(
        workspace_id=workspace_id,
        name="Office hours (Warsaw)",
        timezone="Europe/Warsaw",
        weekly=OFFICE_WEEK,
        holiday_country="PL",
        holiday_subdivision=None,
        custom_holidays=[],
        always_open=False,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(office)
    await uow.session.flush()
    escalation = {
        "warning": ["notify_supervisor"],
        "breach": ["notify_supervisor", "raise_priority"],
    }
    defaults: list[dict[str, Any]] = [
        {
            "name": "Email",
            "position": 10,
            "conditions": {"channel": ["email"]},
            "first_response_seconds": 6 * HOUR,
            "next_response_seconds": 6 * HOUR,
            "calendar_id": office.id,
        },
        {
            "name": "Web chat",
            "position": 20,
            "conditions": {"channel": ["web_chat"]},
            "first_response_seconds": 120,
            "next_response_seconds": 120,
            "calendar_id": None,
        },
        {
            "name": "Missed-call callback",
            "position": 30,
            "conditions": {"channel": ["voice"]},
            "first_response_seconds": HOUR,
            "calendar_id": None,
        },
        {
            "name": "Default",
            "position": 1000,
            "conditions": {},
            "first_response_seconds": 8 * HOUR,
            "next_response_seconds": 8 * HOUR,
            "calendar_id": office.id,
        },
    ]
    for fields in defaults:
        uow.session.add(
            t.SlaPolicy(
                workspace_id=workspace_id,
                warning_ratio=0.8,
                escalation=escalation,
                active=True,
                created_at=now,
                updated_at=now,
                **fields,
            )
        )
    await uow.session.flush()
    return True


# -- the per-conversation report ---------------------------------------------------------------


async def conversation_sla(
    uow: UnitOfWork, principal: Principal, conversation_id: int
) -> dict[str, Any]:
    """Every clock of the conversation, and the measurements a report needs."""
    conversation = await get_visible_conversation(uow.session, principal, conversation_id)
    clocks = list(
        (
            await uow.session.execute(
                select(t.SlaClock)
                .where(t.SlaClock.conversation_id == conversation.id)
                .order_by(t.SlaClock.started_at, t.SlaClock.id)
            )
        ).scalars()
    )
    views = [clock_view(clock) for clock in clocks]
    responses = [_measurement(v) for v in views if v["kind"] != ClockKind.RESOLUTION.value]
    first = next((m for m in responses if m["kind"] == ClockKind.FIRST_RESPONSE.value), None)
    resolutions = [_measurement(v) for v in views if v["kind"] == ClockKind.RESOLUTION.value]
    return {
        "conversation_id": conversation.id,
        "clocks": views,
        "first_response": first,
        "responses": responses,
        "resolution": resolutions[-1] if resolutions else None,
        "met": {
            kind.value: [v["met"] for v in views if v["kind"] == kind.value and v["stopped_at"]]
            for kind in ClockKind
        },
    }


def _measurement(view: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": view["kind"],
        "started_at": view["started_at"],
        "stopped_at": view["stopped_at"],
        "due_at": view["due_at"],
        "elapsed_seconds": view["elapsed_seconds"],
        "working_seconds": view["working_seconds"],
        "met": view["met"],
        "state": view["state"],
    }
