"""The service levels a new (demo) workspace ships with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from threadline.adapters.db import tables as t
from threadline.core.unit_of_work import UnitOfWork

HOUR = 3600
OFFICE_WEEK = {str(day): [["08:00", "16:00"]] for day in range(5)}
DEFAULT_ESCALATION = {
    "warning": ["notify_supervisor"],
    "breach": ["notify_supervisor", "raise_priority"],
}


async def seed_default_sla(uow: UnitOfWork, workspace_id: int) -> bool:
    """The shipped defaults: email answered within 6 working hours (Mon-Fri 08:00-16:00
    Warsaw, Polish public holidays), web chat within 2 minutes and a missed call returned
    within 1 hour, round the clock; everything else within 8 working hours. Does nothing if
    the workspace has policies already; returns whether it seeded."""
    if await _has_policies(uow, workspace_id):
        return False
    now = uow.clock.now()
    office = await _add_office_calendar(uow, workspace_id, now)
    for fields in _default_policies(office.id):
        uow.session.add(
            t.SlaPolicy(
                workspace_id=workspace_id,
                warning_ratio=0.8,
                escalation=DEFAULT_ESCALATION,
                active=True,
                created_at=now,
                updated_at=now,
                **fields,
            )
        )
    await uow.session.flush()
    return True


async def _has_policies(uow: UnitOfWork, workspace_id: int) -> bool:
    existing = await uow.session.execute(
        select(func.count())
        .select_from(t.SlaPolicy)
        .where(t.SlaPolicy.workspace_id == workspace_id)
    )
    return bool(existing.scalar_one())


async def _add_office_calendar(
    uow: UnitOfWork, workspace_id: int, now: datetime
) -> t.BusinessCalendarRow:
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
    return office


def _default_policies(office_calendar_id: int) -> list[dict[str, Any]]:
    return [
        {
            "name": "Email",
            "position": 10,
            "conditions": {"channel": ["email"]},
            "first_response_seconds": 6 * HOUR,
            "next_response_seconds": 6 * HOUR,
            "calendar_id": office_calendar_id,
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
            "calendar_id": office_calendar_id,
        },
    ]
