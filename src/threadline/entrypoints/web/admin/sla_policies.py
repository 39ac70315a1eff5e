"""The console's SLA policies: which conversations a policy covers (channels, priorities,
teams, customer labels and tiers), its first-response, next-response and resolution targets,
the calendar they count on, when to warn and what to do on a warning or a breach. New targets
apply to clocks started from then on (update_policy keeps running promises)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from threadline.domain.errors import DomainError
from threadline.domain.service_levels.sla import ESCALATION_STAGES
from threadline.entrypoints.api.deps import RuntimeDep
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
from threadline.entrypoints.web.admin.policy_form import (
    ACTIONS,
    CHANNELS,
    MAX_FIELDS,
    PRIORITIES,
    TARGETS,
    form_values,
    policy_fields,
)
from threadline.service_levels import (
    calendar_view,
    create_policy,
    get_policy,
    list_calendars,
    policy_view,
    update_policy,
)
from threadline.workspace import list_teams

SECTION = "service_levels"
SERVICE_LEVELS_PATH = f"{CONSOLE_PATH}/service-levels"
POLICIES_PATH = f"{SERVICE_LEVELS_PATH}/policies"
router = APIRouter(prefix=POLICIES_PATH, include_in_schema=False)
NEW_POLICY: dict[str, Any] = {
    "id": None,
    "name": "",
    "position": 100,
    "conditions": {},
    "first_response_seconds": 3600,
    "next_response_seconds": None,
    "resolution_seconds": None,
    "calendar_id": None,
    "warning_ratio": 0.8,
    "escalation": {"warning": ["notify_supervisor"], "breach": ["notify_supervisor"]},
    "active": True,
}


@router.get("/{which}", response_class=HTMLResponse, response_model=None)
async def policy_page(request: Request, runtime: RuntimeDep, which: RecordPath) -> Response:
    """/new: the form for a new policy; /<id>: that policy."""
    opened = await open_console_record(request, runtime, SECTION, which)
    if isinstance(opened, Response):
        return opened
    page, policy_id = opened
    if policy_id is None:
        return await _policy_page(request, runtime, page, NEW_POLICY)
    try:
        async with runtime.uow() as uow:
            policy = policy_view(await get_policy(uow, page.principal, policy_id))
    except DomainError as error:
        return console_missing(request, page, error)
    return await _policy_page(request, runtime, page, policy)


@router.post("/{which}", response_model=None)
async def save_policy(request: Request, runtime: RuntimeDep, which: RecordPath) -> Response:
    """Posted to /new: a new policy; to /<id>: that policy changed."""
    posted = await open_record_form(request, runtime, SECTION, which, MAX_FIELDS)
    if isinstance(posted, Response):
        return posted
    page, policy_id, form = posted
    typed: dict[str, Any] = {**NEW_POLICY, "id": policy_id}
    try:
        fields = policy_fields(form)
        typed.update(fields)
        async with runtime.uow() as uow:
            if policy_id is None:
                await create_policy(uow, page.principal, fields)
            else:
                await update_policy(uow, page.principal, policy_id, fields)
            await uow.commit()
    except DomainError as error:
        return await _policy_page(request, runtime, page, typed, error.status, str(error))
    return back_to(f"{SERVICE_LEVELS_PATH}#policies", "policy_saved")


async def _policy_page(
    request: Request,
    runtime: RuntimeDep,
    page: ConsolePage,
    policy: dict[str, Any],
    status_code: int = 200,
    problem: str | None = None,
) -> Response:
    async with runtime.uow() as uow:
        calendars = [calendar_view(row) for row in await list_calendars(uow, page.principal)]
        teams = await list_teams(uow.session, page.principal)
    context = {
        "policy": form_values(policy),
        "calendars": calendars,
        "teams": teams,
        "channels": CHANNELS,
        "priorities": PRIORITIES,
        "targets": TARGETS,
        "stages": ESCALATION_STAGES,
        "actions": ACTIONS,
        "problem": problem,
    }
    return console_render(
        request, page, "admin/service_levels_policy.html", context, status_code=status_code
    )
