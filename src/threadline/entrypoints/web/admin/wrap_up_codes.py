"""The console's wrap-up codes (on the Service levels page): add one, for the whole
workspace or one team; rename it and say whether resolving with it needs a follow-up;
retire it and bring it back. Conversations resolved with a retired code keep it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from threadline.content import create_code, update_code
from threadline.domain.errors import DomainError
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web.admin._console import (
    ConsolePage,
    ConsolePost,
    PathId,
    back_to,
    console_post,
)
from threadline.entrypoints.web.admin.service_levels import (
    SECTION,
    SERVICE_LEVELS_PATH,
    service_levels_problem,
)

CODES_PATH = f"{SERVICE_LEVELS_PATH}/wrap-up-codes"
router = APIRouter(prefix=CODES_PATH, include_in_schema=False)


def _team_of(form: dict[str, str]) -> int | None:
    team = form.get("team_id", "").strip()
    return int(team) if team.isdigit() and int(team) < 2**31 else None


@router.post("", response_model=None)
async def add_code(request: Request, runtime: RuntimeDep) -> Response:
    posted = await console_post(request, runtime, SECTION)
    if not isinstance(posted, ConsolePost):
        return posted
    page, form = posted.page, posted.form
    code, label = form.get("code", "")[:100], form.get("label", "")[:200]
    try:
        async with runtime.uow() as uow:
            await create_code(
                uow,
                page.principal.workspace_id,
                code=code,
                label=label,
                team_id=_team_of(form),
                follow_up_required=form.get("follow_up_required") == "yes",
            )
            await uow.commit()
    except DomainError as error:
        return await service_levels_problem(
            request, runtime, page, error, new_code=code, new_label=label
        )
    return back_to(f"{SERVICE_LEVELS_PATH}#codes", "code_added")


@router.post("/{code_id}", response_model=None)
async def save_code(request: Request, runtime: RuntimeDep, code_id: PathId) -> Response:
    posted = await console_post(request, runtime, SECTION)
    if not isinstance(posted, ConsolePost):
        return posted
    page, form = posted.page, posted.form
    changes: dict[str, object] = {
        "label": form.get("label", "")[:200],
        "follow_up_required": form.get("follow_up_required") == "yes",
    }
    return await _change(request, runtime, page, code_id, changes, "code_saved")


@router.post("/{code_id}/active", response_model=None)
async def switch_code(request: Request, runtime: RuntimeDep, code_id: PathId) -> Response:
    posted = await console_post(request, runtime, SECTION)
    if not isinstance(posted, ConsolePost):
        return posted
    page, form = posted.page, posted.form
    active = form.get("active") == "yes"
    notice = "code_reactivated" if active else "code_deactivated"
    return await _change(request, runtime, page, code_id, {"active": active}, notice)


async def _change(
    request: Request,
    runtime: RuntimeDep,
    page: ConsolePage,
    code_id: int,
    changes: dict[str, object],
    notice: str,
) -> Response:
    try:
        async with runtime.uow() as uow:
            await update_code(uow, page.principal.workspace_id, code_id, changes)
            await uow.commit()
    except DomainError as error:
        return await service_levels_problem(request, runtime, page, error)
    return back_to(f"{SERVICE_LEVELS_PATH}#codes", notice)
