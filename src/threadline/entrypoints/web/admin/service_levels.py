"""The console's Service levels section: the business calendars, the SLA policies that count
on them, the wrap-up codes agents resolve with, and the re-open window. Calendars and
policies are edited on pages of their own (sla_calendars.py, sla_policies.py); codes and the
window right here (wrap_up_codes.py has the codes' forms)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from threadline.content import list_codes, wrap_up_code_view
from threadline.domain.channels import Channel
from threadline.domain.errors import DomainError
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web.admin._console import (
    CONSOLE_PATH,
    ConsolePage,
    ConsolePost,
    PathId,
    back_to,
    console_post,
    console_problem,
    console_render,
    open_console,
)
from threadline.service_levels import (
    calendar_view,
    current_reopen_window,
    list_calendars,
    list_policies,
    policy_view,
    set_reopen_window,
)
from threadline.workspace import list_inboxes, list_teams, update_inbox

# What a voice inbox's callbacks are due in when it does not say (conversations/calls.py).
DEFAULT_CALLBACK_MINUTES = 60

SECTION = "service_levels"
SERVICE_LEVELS_PATH = f"{CONSOLE_PATH}/service-levels"
router = APIRouter(prefix=SERVICE_LEVELS_PATH, include_in_schema=False)


async def service_levels_context(runtime: RuntimeDep, page: ConsolePage) -> dict[str, Any]:
    async with runtime.uow() as uow:
        calendars = [calendar_view(row) for row in await list_calendars(uow, page.principal)]
        policies = [policy_view(row) for row in await list_policies(uow, page.principal)]
        codes = [
            wrap_up_code_view(code)
            for code in await list_codes(
                uow.session, page.principal.workspace_id, active_only=False
            )
        ]
        teams = await list_teams(uow.session, page.principal)
        window = await current_reopen_window(uow, page.principal)
        voice = [
            {
                "id": inbox.id,
                "name": inbox.name,
                "minutes": inbox.settings.get("callback_due_minutes", DEFAULT_CALLBACK_MINUTES),
            }
            for inbox in await list_inboxes(uow.session, page.principal)
            if inbox.channel == Channel.VOICE.value
        ]
    return {
        "calendars": calendars,
        "calendar_names": {c["id"]: c["name"] for c in calendars},
        "policies": policies,
        "codes": codes,
        "teams": teams,
        "team_names": {team["id"]: team["name"] for team in teams},
        "voice_inboxes": voice,
        "reopen_days": window // timedelta(days=1),
        "reopen_hours": (window % timedelta(days=1)) // timedelta(hours=1),
    }


async def service_levels_problem(
    request: Request, runtime: RuntimeDep, page: ConsolePage, error: DomainError, **kept: Any
) -> Response:
    context = await service_levels_context(runtime, page)
    return console_problem(request, page, "admin/service_levels.html", {**context, **kept}, error)


@router.get("", response_class=HTMLResponse, response_model=None)
async def service_levels_page(request: Request, runtime: RuntimeDep) -> Response:
    page = await open_console(request, runtime, SECTION)
    if not isinstance(page, ConsolePage):
        return page
    context = await service_levels_context(runtime, page)
    return console_render(request, page, "admin/service_levels.html", context)


def _hours_of(form: dict[str, str]) -> timedelta:
    days, hours = form.get("reopen_days", "0").strip(), form.get("reopen_hours", "0").strip()
    if not (days or "0").isdigit() or not (hours or "0").isdigit():
        raise DomainError("the re-open window is whole days and hours")
    return timedelta(days=int(days or 0), hours=int(hours or 0))


@router.post("/reopen-window", response_model=None)
async def save_reopen_window(request: Request, runtime: RuntimeDep) -> Response:
    posted = await console_post(request, runtime, SECTION)
    if not isinstance(posted, ConsolePost):
        return posted
    page, form = posted.page, posted.form
    try:
        window = _hours_of(form)
        async with runtime.uow() as uow:
            await set_reopen_window(uow, page.principal, window)
            await uow.commit()
    except DomainError as error:
        return await service_levels_problem(request, runtime, page, error)
    return back_to(f"{SERVICE_LEVELS_PATH}#reopen", "reopen_window_saved")


@router.post("/callbacks/{inbox_id}", response_model=None)
async def save_callback_minutes(
    request: Request, runtime: RuntimeDep, inbox_id: PathId
) -> Response:
    posted = await console_post(request, runtime, SECTION)
    if not isinstance(posted, ConsolePost):
        return posted
    page, form = posted.page, posted.form
    typed = form.get("callback_due_minutes", "").strip()
    try:
        minutes: object = int(typed) if typed.isdigit() else typed
        async with runtime.uow() as uow:
            await update_inbox(
                uow,
                page.principal,
                inbox_id,
                {"settings": {"callback_due_minutes": minutes}},
                egress=runtime.settings.egress_policy(),
            )
            await uow.commit()
    except DomainError as error:
        return await service_levels_problem(request, runtime, page, error)
    return back_to(f"{SERVICE_LEVELS_PATH}#callbacks", "callbacks_saved")
