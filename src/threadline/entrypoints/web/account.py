"""The signed-in agent's own account (/app/account): who they are in the workspace, and
changing their password. A new password ends every other session of theirs; this browser
stays signed in with a fresh session."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from threadline.domain.errors import DomainError
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web._render import language_of, page_session, render
from threadline.entrypoints.web._session import CSRF_FIELD, SESSION_COOKIE, csrf_matches
from threadline.entrypoints.web._shell import read_form, shell, to_login
from threadline.entrypoints.web.admin._console import back_to, notice_of
from threadline.entrypoints.web.sign_in import keep_session
from threadline.workspace import change_own_password

ACCOUNT_PATH = "/app/account"
router = APIRouter(prefix=ACCOUNT_PATH, include_in_schema=False)


@router.get("", response_class=HTMLResponse, response_model=None)
async def account_page(request: Request, runtime: RuntimeDep) -> Response:
    return await _page(request, runtime)


async def _page(
    request: Request, runtime: RuntimeDep, status_code: int = 200, problem: str | None = None
) -> Response:
    session = await page_session(request, runtime)
    if session is None:
        return to_login()
    frame = await shell(runtime, session)
    context = {**frame, "notice": notice_of(request, language_of(request)), "problem": problem}
    return render(
        request, "account.html", context, status_code=status_code, csrf_token=session.csrf_token
    )


@router.post("/password", response_model=None)
async def change_password(request: Request, runtime: RuntimeDep) -> Response:
    session = await page_session(request, runtime)
    if session is None:
        return to_login()
    form = await read_form(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    if not csrf_matches(token, runtime.settings.secret_key, form.get(CSRF_FIELD)):
        return Response("CSRF token missing or wrong", status_code=403)
    try:
        async with runtime.uow() as uow:
            agent = await change_own_password(
                uow,
                session.principal,
                form.get("current", "")[:1001],
                form.get("password", "")[:1001],
                form.get("repeated", "")[:1001],
            )
            await uow.commit()
    except DomainError as error:
        return await _page(request, runtime, error.status, str(error))
    response = back_to(ACCOUNT_PATH, "password_changed")
    keep_session(response, request, runtime, agent)
    return response
