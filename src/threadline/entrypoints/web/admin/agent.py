"""One agent in the console: their profile as routing sees it (role, languages, skills and
channel competences with levels, capacity), and deactivating or reactivating them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from threadline.domain.agent_profile import MAX_LEVEL, MIN_LEVEL
from threadline.domain.errors import DomainError
from threadline.domain.security.access import Role
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web.admin._console import (
    ConsolePage,
    ConsolePost,
    PathId,
    back_to,
    console_post,
    console_render,
    open_console,
)
from threadline.entrypoints.web.admin.agent_form import (
    AGENT_CHANNELS,
    MAX_SKILL_ROWS,
    entered_skill_rows,
    profile_changes,
    skill_rows,
)
from threadline.entrypoints.web.admin.people import PEOPLE_PATH
from threadline.workspace import invitations_of, show_agent, update_agent

router = APIRouter(prefix=PEOPLE_PATH, include_in_schema=False)
ROLES = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
MAX_AGENT_FIELDS = 2 * MAX_SKILL_ROWS + 2 * len(AGENT_CHANNELS) + 10


async def _agent_page(
    request: Request,
    runtime: RuntimeDep,
    page: ConsolePage,
    agent: dict[str, Any],
    **extra: Any,
) -> Response:
    status = extra.pop("status_code", 200)
    form: dict[str, str] | None = extra.pop("form", None)
    async with runtime.sessionmaker() as db:
        invited = (await invitations_of(db, page.principal)).get(agent["id"])
    context = {
        "agent": agent,
        "invited": invited,
        "roles": ROLES,
        "channels": AGENT_CHANNELS,
        "levels": range(MIN_LEVEL, MAX_LEVEL + 1),
        "skill_rows": entered_skill_rows(form) if form else skill_rows(agent.get("skills")),
        "is_me": agent["id"] == page.principal.agent_id,
        **extra,
    }
    return console_render(request, page, "admin/agent.html", context, status_code=status)


@router.get("/{agent_id:int}", response_class=HTMLResponse, response_model=None)
async def agent_page(request: Request, runtime: RuntimeDep, agent_id: PathId) -> Response:
    page = await open_console(request, runtime, "people")
    if not isinstance(page, ConsolePage):
        return page
    try:
        async with runtime.sessionmaker() as db:
            agent = await show_agent(db, page.principal, agent_id)
    except DomainError as error:
        return console_render(
            request, page, "admin/missing.html", {"problem": str(error)}, status_code=404
        )
    return await _agent_page(request, runtime, page, agent)


async def _change(
    request: Request, runtime: RuntimeDep, agent_id: int, changes_of: Any, done: str
) -> Response:
    posted = await console_post(request, runtime, "people", MAX_AGENT_FIELDS)
    if not isinstance(posted, ConsolePost):
        return posted
    page, form = posted.page, posted.form
    async with runtime.sessionmaker() as db:
        try:
            current = await show_agent(db, page.principal, agent_id)
        except DomainError as error:
            return console_render(
                request, page, "admin/missing.html", {"problem": str(error)}, status_code=404
            )
    changes: dict[str, Any] = {}
    try:
        changes = changes_of(form, current)
        async with runtime.uow() as uow:
            await update_agent(uow, page.principal, agent_id, changes)
            await uow.commit()
    except DomainError as error:
        # The form again, with what the admin entered and why it was not saved.
        entered = {**current, **changes}
        return await _agent_page(
            request,
            runtime,
            page,
            entered,
            form=form,
            problem=str(error),
            status_code=error.status,
        )
    return back_to(f"{PEOPLE_PATH}/{agent_id}", done)


@router.post("/{agent_id:int}", response_model=None)
async def save_agent(request: Request, runtime: RuntimeDep, agent_id: PathId) -> Response:
    return await _change(request, runtime, agent_id, profile_changes, "profile_saved")


@router.post("/{agent_id:int}/active", response_model=None)
async def set_active(request: Request, runtime: RuntimeDep, agent_id: PathId) -> Response:
    def active_of(form: dict[str, str], _current: dict[str, Any]) -> dict[str, Any]:
        return {"active": form.get("active") == "yes"}

    return await _change(request, runtime, agent_id, active_of, "active_changed")
