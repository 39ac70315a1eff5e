"""The console's People section: the workspace's agents at a glance, and its teams with
their members. One agent's profile is edited on its own page (agent.py)."""

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
    PathId,
    back_to,
    console_post,
    console_render,
    open_console,
)
from threadline.workspace import (
    create_team,
    invitations_of,
    list_agents,
    list_teams,
    set_members,
)

router = APIRouter(prefix=f"{CONSOLE_PATH}/people", include_in_schema=False)
PEOPLE_PATH = f"{CONSOLE_PATH}/people"
# A team's member form has one checkbox per agent.
MAX_MEMBER_FIELDS = 2_000


async def _people_context(runtime: RuntimeDep, page: ConsolePage) -> dict[str, Any]:
    async with runtime.sessionmaker() as db:
        agents = await list_agents(db, page.principal)
        teams = await list_teams(db, page.principal)
        invitations = await invitations_of(db, page.principal)
    names = {a["id"]: a["name"] for a in agents}
    for team in teams:
        team["member_names"] = [names[i] for i in team.get("member_ids", []) if i in names]
    return {
        "agents": agents,
        "teams": teams,
        "team_names": {t["id"]: t["name"] for t in teams},
        "invitations": invitations,
        "roles": ("agent", "supervisor", "admin"),
    }


@router.get("", response_class=HTMLResponse, response_model=None)
async def people_page(request: Request, runtime: RuntimeDep) -> Response:
    page = await open_console(request, runtime, "people")
    if not isinstance(page, ConsolePage):
        return page
    context = await _people_context(runtime, page)
    return console_render(request, page, "admin/people.html", context)


async def people_page_with(
    request: Request, runtime: RuntimeDep, page: ConsolePage, status_code: int, **shown: Any
) -> Response:
    """The People page as the answer to a post: with its problem, or what was done."""
    context = await _people_context(runtime, page)
    return console_render(
        request, page, "admin/people.html", {**context, **shown}, status_code=status_code
    )


async def _problem(
    request: Request, runtime: RuntimeDep, page: ConsolePage, error: DomainError, **kept: Any
) -> Response:
    return await people_page_with(request, runtime, page, error.status, problem=str(error), **kept)


@router.post("/teams", response_model=None)
async def add_team(request: Request, runtime: RuntimeDep) -> Response:
    posted = await console_post(request, runtime, "people")
    if not isinstance(posted, ConsolePost):
        return posted
    page, form = posted.page, posted.form
    name = form.get("team_name", "").strip()[:200]
    try:
        async with runtime.uow() as uow:
            await create_team(uow, page.principal, name)
            await uow.commit()
    except DomainError as error:
        return await _problem(request, runtime, page, error, team_name=name)
    return back_to(f"{PEOPLE_PATH}#teams", "team_created")


@router.post("/teams/{team_id}/members", response_model=None)
async def save_members(request: Request, runtime: RuntimeDep, team_id: PathId) -> Response:
    posted = await console_post(request, runtime, "people", MAX_MEMBER_FIELDS)
    if not isinstance(posted, ConsolePost):
        return posted
    page, form = posted.page, posted.form
    chosen = [int(key[7:]) for key in form if key.startswith("member-") and key[7:].isdigit()]
    try:
        async with runtime.uow() as uow:
            await set_members(uow, page.principal, team_id, chosen)
            await uow.commit()
    except DomainError as error:
        return await _problem(request, runtime, page, error)
    return back_to(f"{PEOPLE_PATH}#teams", "members_saved")
