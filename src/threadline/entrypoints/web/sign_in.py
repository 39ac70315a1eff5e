"""The sign-in page, signing out, and the agent's choice of language."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from threadline.domain.security.access import Role
from threadline.domain.security.signatures import presented_matches
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.sign_in_throttle import SignInThrottled, sign_in_attempt
from threadline.entrypoints.web._render import LANGUAGES, render
from threadline.entrypoints.web._session import (
    CSRF_FIELD,
    LANGUAGE_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    csrf_matches,
)
from threadline.entrypoints.web._shell import HOME_PATH, LOGIN_PATH, read_form, secure
from threadline.entrypoints.web.admin._console import CONSOLE_PATH
from threadline.workspace import (
    AuthenticationFailed,
    issue_token,
    sign_in,
    sign_out,
    sole_workspace_of_email,
)

router = APIRouter(prefix="/app", include_in_schema=False)


def _local_path(target: str | None) -> str:
    """Only a path on this site: never `//other.example` or a scheme."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return HOME_PATH
    return target


@router.get("", response_class=HTMLResponse)
async def app_home() -> RedirectResponse:
    return RedirectResponse(HOME_PATH, status_code=303)


def visitor_page(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """A page for someone not signed in (sign-in, a link's page): its forms carry a token
    from a cookie of their own, so another site cannot post them."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, template, context, csrf_token=token, status_code=status_code)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure(request),
        path="/app",
    )
    return response


def visitor_form_matches(request: Request, form: dict[str, str]) -> bool:
    return presented_matches(form.get(CSRF_FIELD, ""), request.cookies.get(LOGIN_CSRF_COOKIE))


def _login_page(
    request: Request, error: str | None, workspace: str, email: str, status_code: int = 200
) -> HTMLResponse:
    context = {"error": error, "workspace": workspace, "email": email}
    return visitor_page(request, "login.html", context, status_code)


def open_session(request: Request, runtime: RuntimeDep, agent: Any) -> RedirectResponse:
    """The agent is signed in from now on, in this browser, and lands where they work: an
    admin on the console's get-started checklist, everyone else on their conversations."""
    landing = CONSOLE_PATH if agent.role == Role.ADMIN.value else HOME_PATH
    response = RedirectResponse(landing, status_code=303)
    keep_session(response, request, runtime, agent)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/app")
    return response


def keep_session(response: Response, request: Request, runtime: RuntimeDep, agent: Any) -> None:
    """A new session token for `agent` in this browser's cookie."""
    token = issue_token(
        agent, runtime.settings.secret_key, runtime.clock.now(), runtime.settings.token_ttl_seconds
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=runtime.settings.token_ttl_seconds,
        httponly=True,
        samesite="strict",
        secure=secure(request),
        path="/",
    )


@router.get("/login", response_class=HTMLResponse)
async def login_form(
    request: Request, workspace: Annotated[str, Query(max_length=100)] = ""
) -> HTMLResponse:
    return _login_page(request, None, workspace, "")


async def _workspace_of_email(runtime: RuntimeDep, email: str) -> str:
    """Without a workspace given, the one workspace where this email is an agent."""
    async with runtime.sessionmaker() as db:
        return await sole_workspace_of_email(db, email)


@router.post("/login", response_model=None)
async def login_submit(request: Request, runtime: RuntimeDep) -> Response:
    form = await read_form(request)
    email = form.get("email", "")[:320]
    password = form.get("password", "")[:1000]
    workspace = form.get("workspace", "")[:100]
    if not visitor_form_matches(request, form):
        return _login_page(request, "login.expired", workspace, email, status_code=403)
    try:
        async with sign_in_attempt(request, runtime, email):
            slug = workspace.strip() or await _workspace_of_email(runtime, email)
            async with runtime.sessionmaker() as db:
                agent = await sign_in(db, slug, email, password, runtime.clock.now())
    except SignInThrottled:
        return _login_page(request, "login.throttled", workspace, email, status_code=429)
    except AuthenticationFailed:
        return _login_page(request, "login.failed", workspace, email, status_code=401)
    return open_session(request, runtime, agent)


@router.post("/logout", response_model=None)
async def logout(request: Request, runtime: RuntimeDep) -> Response:
    csrf_token = (await read_form(request)).get(CSRF_FIELD, "")
    token = request.cookies.get(SESSION_COOKIE)
    if token and not csrf_matches(token, runtime.settings.secret_key, csrf_token):
        return Response("CSRF token missing or wrong", status_code=403)
    if token:
        # The cookie is dropped, and the token itself refused from now on: a copy of it
        # (another tab's socket, a saved request) no longer works either.
        async with runtime.sessionmaker() as session:
            await sign_out(session, token, runtime.settings.secret_key, runtime.clock.now())
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language", response_model=None)
async def choose_language(request: Request, runtime: RuntimeDep) -> Response:
    """The agent's language lives in the `tl_lang` cookie (a year), per browser."""
    form = await read_form(request)
    language = form.get("language", "")
    next_path = form.get("next", "")
    csrf_token = form.get(CSRF_FIELD, "")
    token = request.cookies.get(SESSION_COOKIE)
    login_token = request.cookies.get(LOGIN_CSRF_COOKIE)
    allowed = (token and csrf_matches(token, runtime.settings.secret_key, csrf_token)) or (
        presented_matches(csrf_token, login_token)
    )
    if not allowed:
        return Response("CSRF token missing or wrong", status_code=403)
    if language not in LANGUAGES:
        return Response(f"language must be one of {', '.join(LANGUAGES)}", status_code=422)
    response = RedirectResponse(_local_path(next_path), status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=365 * 24 * 3600,
        samesite="strict",
        secure=secure(request),
        path="/",
    )
    return response
