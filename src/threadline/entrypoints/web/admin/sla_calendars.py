"""The console's business calendars: a calendar's time zone, weekly hours (split shifts as
several rows a day), public holidays of a country and closed days of its own, with what that
means for the next two weeks beside the form. Saving moves the running SLA deadlines on it
(update_calendar does, in the same transaction)."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from threadline.domain.errors import DomainError
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web._render import language_of, translator
from threadline.entrypoints.web.admin._console import (
    CONSOLE_PATH,
    ConsolePage,
    FormRefused,
    back_to,
    console_form,
    console_render,
    open_console,
    refused,
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
CalendarId = Annotated[int, Path(ge=1, le=2**31 - 1)]
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


@router.get("/new", response_class=HTMLResponse, response_model=None)
async def new_calendar_page(request: Request, runtime: RuntimeDep) -> Response:
    page = await open_console(request, runtime, SECTION)
    if not isinstance(page, ConsolePage):
        return page
    return _calendar_page(request, page, NEW_CALENDAR, None)


@router.get("/{calendar_id}", response_class=HTMLResponse, response_model=None)
async def calendar_page(request: Request, runtime: RuntimeDep, calendar_id: CalendarId) -> Response:
    page = await open_console(request, runtime, SECTION)
    if not isinstance(page, ConsolePage):
        return page
    try:
        async with runtime.uow() as uow:
            row = await get_calendar(uow, page.principal, calendar_id)
            preview = preview_calendar(row, uow.clock.now())
            calendar = calendar_view(row)
    except DomainError as error:
        return console_render(
            request, page, "admin/missing.html", {"problem": str(error)}, status_code=error.status
        )
    return _calendar_page(request, page, calendar, preview)


@router.post("", response_model=None)
async def add_calendar(request: Request, runtime: RuntimeDep) -> Response:
    return await _save(request, runtime, None)


@router.post("/{calendar_id}", response_model=None)
async def save_calendar(request: Request, runtime: RuntimeDep, calendar_id: CalendarId) -> Response:
    return await _save(request, runtime, calendar_id)


async def _save(request: Request, runtime: RuntimeDep, calendar_id: int | None) -> Response:
    page = await open_console(request, runtime, SECTION)
    if not isinstance(page, ConsolePage):
        return page
    try:
        form = await console_form(request, runtime, MAX_FIELDS)
    except FormRefused:
        return refused()
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
