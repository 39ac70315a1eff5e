"""The console's business calendars: a calendar's time zone, weekly hours (split shifts as
several rows a day), public holidays of a country and closed days of its own, with what that
means for the next two weeks beside the form. Saving moves the running SLA deadlines on it
(update_calendar does, in the same transaction)."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from threadline.domain.errors import DomainError
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web._render import language_of, translator
from threadline.entrypoints.web.admin._console import (
    CONSOLE_PATH,
    ConsolePage,
    RecordPath,
    back_to,
    console_missing,
    console_render,
    open_console_record,
    open_record_form,
)
from threadline.entrypoints.web.admin.calendar_form import (
    MAX_FIELDS,
    WEEKDAYS,
    calendar_fields,
    entered_calendar,
    shift_rows,
)
from threadline.service_levels import (
    calendar_view,
    create_calendar,
    get_calendar,
    holiday_countries,
    preview_calendar,
    update_calendar,
)

SECTION = "service_levels"
CALENDARS_PATH = f"{CONSOLE_PATH}/service-levels/calendars"
router = APIRouter(prefix=CALENDARS_PATH, include_in_schema=False)
ZONES = tuple(sorted(available_timezones()))
NEW_CALENDAR: dict[str, Any] = {
    "id": None,
    "name": "",
    "timezone": "Europe/Warsaw",
    "weekly": {str(day): [["08:00", "16:00"]] for day in range(5)},
    "holiday_country": None,
    "holiday_subdivision": None,
    "custom_holidays": [],
    "always_open": False,
}


def _day_names(request: Request) -> list[str]:
    t = translator(language_of(request))
    return [t(f"sl.weekday.{day}") for day in WEEKDAYS]


def _calendar_page(
    request: Request,
    page: ConsolePage,
    calendar: dict[str, Any],
    preview: list[Any] | None,
    status_code: int = 200,
    problem: str | None = None,
) -> Response:
    context = {
        "calendar": calendar,
        "rows": shift_rows(calendar["weekly"]),
        "weekdays": list(WEEKDAYS),
        "countries": holiday_countries(),
        "zones": ZONES,
        "preview": preview,
        "problem": problem,
    }
    return console_render(
        request, page, "admin/service_levels_calendar.html", context, status_code=status_code
    )


@router.get("/{which}", response_class=HTMLResponse, response_model=None)
async def calendar_page(request: Request, runtime: RuntimeDep, which: RecordPath) -> Response:
    """/new: the form for a new calendar; /<id>: that calendar and its next two weeks."""
    opened = await open_console_record(request, runtime, SECTION, which)
    if isinstance(opened, Response):
        return opened
    page, calendar_id = opened
    if calendar_id is None:
        return _calendar_page(request, page, NEW_CALENDAR, None)
    try:
        async with runtime.uow() as uow:
            row = await get_calendar(uow, page.principal, calendar_id)
            preview = preview_calendar(row, uow.clock.now())
            calendar = calendar_view(row)
    except DomainError as error:
        return console_missing(request, page, error)
    return _calendar_page(request, page, calendar, preview)


@router.post("/{which}", response_model=None)
async def save_calendar(request: Request, runtime: RuntimeDep, which: RecordPath) -> Response:
    """Posted to /new: a new calendar; to /<id>: that calendar changed."""
    posted = await open_record_form(request, runtime, SECTION, which, MAX_FIELDS)
    if isinstance(posted, Response):
        return posted
    page, calendar_id, form = posted
    try:
        fields = calendar_fields(form, _day_names(request))
        async with runtime.uow() as uow:
            if calendar_id is None:
                row = await create_calendar(uow, page.principal, fields)
            else:
                row, _moved = await update_calendar(uow, page.principal, calendar_id, fields)
            await uow.commit()
            saved_id = row.id
    except DomainError as error:
        typed = {**entered_calendar(form), "id": calendar_id}
        return _calendar_page(request, page, typed, None, error.status, str(error))
    return back_to(f"{CALENDARS_PATH}/{saved_id}", "calendar_saved")
