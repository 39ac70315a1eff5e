"""The console's routing: the mode (auto, offer, manual), the scoring weights and the routing
steps, the teams with their own steps, the queue order's rules, and beside them the latest
routing decisions with their explanations. Saved through the same use-case as the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from threadline.domain.errors import DomainError
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web.admin._console import (
    CONSOLE_PATH,
    ConsolePage,
    ConsolePost,
    back_to,
    console_post,
    console_render,
    open_console,
)
from threadline.entrypoints.web.admin.routing_form import (
    DURATIONS,
    MODES,
    OFFERS,
    OVERFLOW,
    RELAXATION,
    STICKY,
    WEIGHTS,
    form_values,
    routing_choice,
)
from threadline.routing import (
    get_settings,
    list_team_routing,
    put_settings,
    queue_policy_view,
    recent_decisions,
)

ROUTING_PATH = f"{CONSOLE_PATH}/routing"
router = APIRouter(prefix=ROUTING_PATH, include_in_schema=False)


async def _routing_page(
    request: Request,
    runtime: RuntimeDep,
    page: ConsolePage,
    values: dict[str, str],
    status_code: int = 200,
    **extra: Any,
) -> Response:
    """The page with `values` in the form: the stored settings, or what the admin entered."""
    async with runtime.sessionmaker() as db:
        teams = await list_team_routing(db, page.principal)
        decisions = await recent_decisions(db, page.principal)
    context = {
        "values": values,
        "modes": MODES,
        "weights": WEIGHTS,
        "durations": DURATIONS,
        "step_groups": (("sticky", STICKY), ("relax", RELAXATION), ("overflow", OVERFLOW)),
        "offer_steps": OFFERS,
        "teams": teams,
        "decisions": decisions,
        "queue": queue_policy_view(),
        **extra,
    }
    return console_render(request, page, "admin/routing.html", context, status_code=status_code)


@router.get("", response_class=HTMLResponse, response_model=None)
async def routing_page(request: Request, runtime: RuntimeDep) -> Response:
    page = await open_console(request, runtime, "routing")
    if not isinstance(page, ConsolePage):
        return page
    async with runtime.sessionmaker() as db:
        settings = await get_settings(db, page.principal)
    return await _routing_page(request, runtime, page, form_values(settings))


@router.post("", response_model=None)
async def save_routing(request: Request, runtime: RuntimeDep) -> Response:
    posted = await console_post(request, runtime, "routing", max_fields=30)
    if not isinstance(posted, ConsolePost):
        return posted
    page, form = posted.page, posted.form
    entered = {name: value[:40] for name, value in form.items()}
    try:
        choice = routing_choice(form)
        async with runtime.uow() as uow:
            await put_settings(uow, page.principal, choice.mode, choice.weights, choice.steps)
            await uow.commit()
    except DomainError as error:
        # The admin's values stay in the form beside the reason, to correct and send again.
        return await _routing_page(
            request, runtime, page, entered, error.status, problem=str(error)
        )
    return back_to(ROUTING_PATH, "routing_saved")
