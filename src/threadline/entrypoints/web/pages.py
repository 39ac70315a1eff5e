"""The agent workspace pages: sign-in, the conversation list, one conversation, the queue
and tasks. Views are thin: they read through the same query services as the REST API and
render; changes are made by the page script through the REST API (cookie + CSRF header)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.content.catalogue import customer_orders
from threadline.content.suggestions import conversation_suggestions
from threadline.content.wrap_up_codes import list_codes, wrap_up_code_view
from threadline.conversations import queries
from threadline.conversations.reply_options import reply_options
from threadline.core.views import task_view
from threadline.csat.answers import survey_view
from threadline.domain.access import Role
from threadline.domain.bounds import row_id_from_text
from threadline.domain.channels import Channel
from threadline.domain.conversations import ConversationStatus
from threadline.domain.errors import DomainError, NotFound
from threadline.domain.signatures import presented_matches
from threadline.domain.tasks import TaskStatus
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.api.schemas import RowId
from threadline.entrypoints.sign_in_throttle import SignInThrottled, sign_in_attempt
from threadline.entrypoints.web._render import (
    LANGUAGES,
    PageSession,
    page_session,
    render,
)
from threadline.entrypoints.web._session import (
    CSRF_FIELD,
    LANGUAGE_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    csrf_matches,
)
from threadline.follow_ups.tasks import TaskFilter, list_tasks
from threadline.routing import queue_positions
from threadline.service_levels.admin import conversation_sla
from threadline.workspace.agents import list_agents
from threadline.workspace.auth import (
    AuthenticationFailed,
    issue_token,
    sign_in,
    sign_out,
)
from threadline.workspace.teams import list_teams

router = APIRouter(prefix="/app", include_in_schema=False)

LOGIN_PATH = "/app/login"
HOME_PATH = "/app/conversations"
MAX_FORM_BYTES = 20_000
SLA_DUE_WINDOWS = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "24h": timedelta(hours=24)}


def _to_login() -> RedirectResponse:
    return RedirectResponse(LOGIN_PATH, status_code=303)


def _local_path(target: str | None) -> str:
    """Only a path on this site: never `//other.example` or a scheme."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return HOME_PATH
    return target


async def read_form(request: Request) -> dict[str, str]:
    """A URL-encoded form post (all our forms are small; no files)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        return {}
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), max_num_fields=20))


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def _me(runtime: RuntimeDep, session: PageSession) -> t.Agent:
    async with runtime.sessionmaker() as db:
        agent = await db.get(t.Agent, session.principal.agent_id)
    assert agent is not None
    return agent


async def _shell(runtime: RuntimeDep, session: PageSession) -> dict[str, Any]:
    """What every signed-in page shows: who is signed in and their presence."""
    me = await _me(runtime, session)
    return {
        "me": me,
        "is_supervisor": session.principal.role in (Role.SUPERVISOR, Role.ADMIN),
    }


# Sign-in, sign-out, language ----------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
async def app_home() -> RedirectResponse:
    return RedirectResponse(HOME_PATH, status_code=303)


def _login_page(
    request: Request, error: str | None, workspace: str, email: str, status_code: int = 200
) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"error": error, "workspace": workspace, "email": email},
        csrf_token=token,
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/app",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(
    request: Request, workspace: Annotated[str, Query(max_length=100)] = ""
) -> HTMLResponse:
    return _login_page(request, None, workspace, "")


async def _workspace_of_email(runtime: RuntimeDep, email: str) -> str:
    """Without a workspace given, the one workspace where this email is an agent."""
    async with runtime.sessionmaker() as db:
        slugs = list(
            (
                await db.execute(
                    select(t.Workspace.slug)
                    .join(t.Agent, t.Agent.workspace_id == t.Workspace.id)
                    .where(t.Agent.email == email.strip().lower())
                    .limit(2)
                )
            ).scalars()
        )
    return slugs[0] if len(slugs) == 1 else ""


@router.post("/login", response_model=None)
async def login_submit(request: Request, runtime: RuntimeDep) -> Response:
    form = await read_form(request)
    email = form.get("email", "")[:320]
    password = form.get("password", "")[:1000]
    workspace = form.get("workspace", "")[:100]
    csrf_token = form.get(CSRF_FIELD, "")
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not presented_matches(csrf_token, expected):
        return _login_page(request, "login.expired", workspace, email, status_code=403)
    try:
        async with sign_in_attempt(request, runtime, email):
            slug = workspace.strip() or await _workspace_of_email(runtime, email)
            async with runtime.sessionmaker() as db:
                agent = await sign_in(db, slug, email, password)
    except SignInThrottled:
        return _login_page(request, "login.throttled", workspace, email, status_code=429)
    except AuthenticationFailed:
        return _login_page(request, "login.failed", workspace, email, status_code=401)
    token = issue_token(
        agent, runtime.settings.secret_key, runtime.clock.now(), runtime.settings.token_ttl_seconds
    )
    response = RedirectResponse(HOME_PATH, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=runtime.settings.token_ttl_seconds,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/app")
    return response


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
        secure=_secure(request),
        path="/",
    )
    return response


# The conversation list ---------------------------------------------------------------------


def _list_filters(
    session: PageSession,
    runtime: RuntimeDep,
    params: dict[str, str],
) -> queries.ConversationFilters:
    status = params.get("status") or ""
    assignee = params.get("assignee") or ""
    team = params.get("team") or ""
    channel = params.get("channel") or ""
    sla = params.get("sla") or ""
    try:
        return queries.ConversationFilters(
            status=ConversationStatus(status) if status else None,
            assignee_id=(
                session.principal.agent_id if assignee == "mine" else row_id_from_text(assignee)
            ),
            unassigned=assignee == "unassigned",
            team_id=row_id_from_text(team),
            channel=Channel(channel) if channel else None,
            label=(params.get("label") or "").strip()[:100] or None,
            sla_due_before=(
                runtime.clock.now() + SLA_DUE_WINDOWS[sla] if sla in SLA_DUE_WINDOWS else None
            ),
        )
    except ValueError as exc:
        raise DomainError(f"unknown filter value: {exc}") from exc


@router.get("/conversations", response_class=HTMLResponse, response_model=None)
async def conversation_list(
    request: Request,
    runtime: RuntimeDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    session = await page_session(request, runtime)
    if session is None:
        return _to_login()
    params = {
        k: v
        for k, v in request.query_params.items()
        if k in ("status", "assignee", "team", "channel", "label", "sla") and v
    }
    filters = _list_filters(session, runtime, params)
    async with runtime.sessionmaker() as db:
        page = await queries.list_conversations(db, session.principal, filters, cursor=cursor)
        customer_ids = sorted({c["customer_id"] for c in page.items})
        rows = await db.execute(
            select(t.Customer.id, t.Customer.name).where(
                t.Customer.workspace_id == session.principal.workspace_id,
                t.Customer.id.in_(customer_ids),
            )
        )
        names = {customer_id: name for customer_id, name in rows}
        agents = await list_agents(db, session.principal)
        teams = await list_teams(db, session.principal)
    next_url = (
        f"{HOME_PATH}?{urlencode({**params, 'cursor': page.next_cursor})}"
        if page.next_cursor
        else None
    )
    return render(
        request,
        "conversations.html",
        {
            **await _shell(runtime, session),
            "conversations": page.items,
            "customer_names": names,
            "agents": {a["id"]: a for a in agents},
            "teams": teams,
            "filters": params,
            "statuses": [s.value for s in ConversationStatus],
            "channels": [c.value for c in Channel],
            "sla_windows": list(SLA_DUE_WINDOWS),
            "next_url": next_url,
        },
        csrf_token=session.csrf_token,
    )


# One conversation --------------------------------------------------------------------------


async def _csat_history(
    db: AsyncSession, workspace_id: int, conversations: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Answers are asked for after a matter is resolved, so only resolved ones are looked at:
    all of them in one query, grouped by conversation in the card's order, newest first."""
    resolved = [c["id"] for c in conversations if c["resolved_at"] is not None]
    if not resolved:
        return []
    rows = await db.execute(
        select(t.CsatSurvey)
        .where(
            t.CsatSurvey.workspace_id == workspace_id,
            t.CsatSurvey.conversation_id.in_(resolved),
            t.CsatSurvey.score.is_not(None),
        )
        .order_by(t.CsatSurvey.answered_at.desc())
    )
    place = {conversation_id: i for i, conversation_id in enumerate(resolved)}
    return sorted(
        (survey_view(s) for s in rows.scalars()), key=lambda s: place[s["conversation_id"]]
    )


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse, response_model=None)
async def conversation_page(
    request: Request,
    runtime: RuntimeDep,
    conversation_id: RowId,
    before: RowId | None = None,
) -> Response:
    """The newest messages of the conversation (a page of them: `?before=<message id>` shows
    the ones before that message, which "load earlier messages" links to)."""
    session = await page_session(request, runtime)
    if session is None:
        return _to_login()
    principal = session.principal
    try:
        async with runtime.sessionmaker() as db:
            conversation = await queries.conversation_detail(db, principal, conversation_id)
            timeline = await queries.conversation_timeline(
                db, principal, conversation_id, before_id=before
            )
            card = await queries.customer_card(
                db, principal, conversation["customer_id"], runtime.clock.now()
            )
            csat = await _csat_history(db, principal.workspace_id, card["conversations"]["recent"])
            agents = await list_agents(db, principal)
            teams = await list_teams(db, principal)
            codes = await list_codes(
                db, principal.workspace_id, team_id=conversation["team_id"], active_only=True
            )
            tasks = await list_tasks(
                db,
                principal,
                TaskFilter(status=TaskStatus.OPEN, conversation_id=conversation_id),
            )
            orders = await customer_orders(db, principal, conversation["customer_id"])
            suggestions = await conversation_suggestions(db, principal, conversation_id)
        async with runtime.uow() as uow:
            options = await reply_options(uow, principal, conversation_id)
            sla = await conversation_sla(uow, principal, conversation_id)
    except NotFound:
        return render(
            request,
            "not_found.html",
            await _shell(runtime, session),
            status_code=404,
            csrf_token=session.csrf_token,
        )
    now = runtime.clock.now()
    agent_names = {a["id"]: a["name"] for a in agents}
    return render(
        request,
        "conversation.html",
        {
            **await _shell(runtime, session),
            "conversation": conversation,
            "messages": timeline.messages,
            "earlier_before_id": timeline.earlier_before_id,
            "showing_earlier": before is not None,
            "card": card,
            "csat": csat,
            "agents": agents,
            "agent_names": agent_names,
            "teams": teams,
            "codes": [wrap_up_code_view(c) for c in codes],
            "tasks": [task_view(k, now) for k in tasks],
            "reply_options": options,
            "orders": orders,
            "suggestions": suggestions,
            "sla": sla,
            "channels": [c.value for c in Channel],
        },
        csrf_token=session.csrf_token,
    )


# Supervisors' queue ------------------------------------------------------------------------


@router.get("/queue", response_class=HTMLResponse, response_model=None)
async def queue_page(request: Request, runtime: RuntimeDep) -> Response:
    session = await page_session(request, runtime)
    if session is None:
        return _to_login()
    principal = session.principal
    shell = await _shell(runtime, session)
    if not shell["is_supervisor"]:
        return render(
            request, "forbidden.html", shell, status_code=403, csrf_token=session.csrf_token
        )
    now = runtime.clock.now()
    async with runtime.sessionmaker() as db:
        rows, waiting = await queries.list_conversation_rows(
            db,
            principal,
            queries.ConversationFilters(status=ConversationStatus.OPEN, unassigned=True),
            limit=queries.MAX_PAGE,
        )
        places = await queue_positions(db, principal.workspace_id, rows, now)
        positions = [{"conversation": item, "queue": places[item["id"]]} for item in waiting.items]
        agents = await list_agents(db, principal)
        counts = await db.execute(
            select(t.Assignment.agent_id, func.count())
            .where(
                t.Assignment.workspace_id == principal.workspace_id,
                t.Assignment.released_at.is_(None),
            )
            .group_by(t.Assignment.agent_id)
        )
        load = {agent_id: count for agent_id, count in counts}
    return render(
        request,
        "queue.html",
        {**shell, "waiting": positions, "agents": agents, "load": load},
        csrf_token=session.csrf_token,
    )


# Tasks -------------------------------------------------------------------------------------


@router.get("/tasks", response_class=HTMLResponse, response_model=None)
async def tasks_page(request: Request, runtime: RuntimeDep) -> Response:
    session = await page_session(request, runtime)
    if session is None:
        return _to_login()
    now = runtime.clock.now()
    async with runtime.sessionmaker() as db:
        tasks = await list_tasks(db, session.principal, TaskFilter(status=TaskStatus.OPEN))
    return render(
        request,
        "tasks.html",
        {
            **await _shell(runtime, session),
            "tasks": [task_view(k, now) for k in tasks],
        },
        csrf_token=session.csrf_token,
    )
