"""What every console page shares: only admins open it (supervisors see the sections their
role may change), and each page shows the console's section menu beside it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.responses import RedirectResponse, Response

from threadline.domain.errors import DomainError, NotFound
from threadline.domain.security.access import Role
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web._render import (
    PageSession,
    language_of,
    page_session,
    render,
    translator,
)
from threadline.entrypoints.web._session import CSRF_FIELD, SESSION_COOKIE, csrf_matches
from threadline.entrypoints.web._shell import read_form, shell, to_login

CONSOLE_PATH = "/app/admin"
# A record's id in a console URL: a bad one is a 422 before the view runs.
PathId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    path: str
    icon: str
    roles: frozenset[Role] = frozenset({Role.ADMIN})


SECTIONS = (
    Section("start", CONSOLE_PATH, "bi-flag"),
    Section("people", f"{CONSOLE_PATH}/people", "bi-people"),
    Section("routing", f"{CONSOLE_PATH}/routing", "bi-signpost-split"),
    Section("channels", f"{CONSOLE_PATH}/channels", "bi-plug"),
    Section("service_levels", f"{CONSOLE_PATH}/service-levels", "bi-stopwatch"),
    Section("api_keys", f"{CONSOLE_PATH}/api-keys", "bi-key"),
    Section("audit", f"{CONSOLE_PATH}/audit", "bi-journal-text"),
)


# The last part of a record's console address: "new" (a form for a new one) or its id.
RecordPath = Annotated[str, Path(max_length=12)]
_RECORD_ID = re.compile(r"^[1-9][0-9]{0,9}$")


def record_id(which: str) -> int | None:
    """The id a RecordPath names, None for "new"; NotFound for anything else."""
    if which == "new":
        return None
    if not _RECORD_ID.match(which) or int(which) >= 2**31:
        raise NotFound(f"there is no {which!r} here")
    return int(which)


@dataclass(frozen=True, slots=True)
class ConsolePage:
    """A signed-in admin's console request: their session and the frame every page shows."""

    session: PageSession
    frame: dict[str, Any]

    @property
    def principal(self) -> Any:
        return self.session.principal


async def open_console(
    request: Request, runtime: RuntimeDep, section: str
) -> ConsolePage | Response:
    """The console page for `section`, or where the visitor goes instead: the sign-in page
    without a session, a 403 page for a role the section is not for."""
    session = await page_session(request, runtime)
    if session is None:
        return to_login()
    frame = await shell(runtime, session)
    allowed = [s for s in SECTIONS if session.principal.role in s.roles]
    if section not in {s.key for s in allowed}:
        return render(
            request, "forbidden.html", frame, status_code=403, csrf_token=session.csrf_token
        )
    frame = {**frame, "sections": allowed, "section": section}
    return ConsolePage(session, frame)


async def open_console_record(
    request: Request, runtime: RuntimeDep, section: str, which: str
) -> tuple[ConsolePage, int | None] | Response:
    """A record's page in `section`: the page and the record's id (None for "new"), or the
    answer instead, as open_console gives it."""
    page = await open_console(request, runtime, section)
    if not isinstance(page, ConsolePage):
        return page
    try:
        return page, record_id(which)
    except NotFound as error:
        return console_missing(request, page, error)


async def open_record_form(
    request: Request, runtime: RuntimeDep, section: str, which: str, max_fields: int = 20
) -> tuple[ConsolePage, int | None, dict[str, str]] | Response:
    """A form posted to a record's page: the page, the record's id (None for "new") and the
    fields, or the answer instead (as open_console_record, or a 403 for a forged form)."""
    opened = await open_console_record(request, runtime, section, which)
    if isinstance(opened, Response):
        return opened
    try:
        return (*opened, await console_form(request, runtime, max_fields))
    except FormRefused:
        return refused()


def console_render(
    request: Request,
    page: ConsolePage,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    notice = notice_of(request, language_of(request))
    return render(
        request,
        template,
        {**page.frame, "notice": notice, **context},
        status_code=status_code,
        csrf_token=page.session.csrf_token,
    )


class FormRefused(Exception):
    """A console form post without this session's CSRF token (another site's form)."""


async def console_form(
    request: Request, runtime: RuntimeDep, max_fields: int = 20
) -> dict[str, str]:
    """The posted form, once its CSRF token is this session's; FormRefused otherwise."""
    form = await read_form(request, max_fields)
    token = request.cookies.get(SESSION_COOKIE, "")
    if not csrf_matches(token, runtime.settings.secret_key, form.get(CSRF_FIELD)):
        raise FormRefused
    return form


@dataclass(frozen=True, slots=True)
class ConsolePost:
    """A console form posted by a signed-in admin of the section, its CSRF token checked."""

    page: ConsolePage
    form: dict[str, str]


async def console_post(
    request: Request, runtime: RuntimeDep, section: str, max_fields: int = 20
) -> ConsolePost | Response:
    """The post to act on, or the answer instead: sign in, 403 for the role, 403 for a form
    without this session's CSRF token."""
    page = await open_console(request, runtime, section)
    if not isinstance(page, ConsolePage):
        return page
    try:
        form = await console_form(request, runtime, max_fields)
    except FormRefused:
        return refused()
    return ConsolePost(page, form)


def refused() -> Response:
    return Response("CSRF token missing or wrong", status_code=403)


def console_problem(
    request: Request,
    page: ConsolePage,
    template: str,
    context: dict[str, Any],
    error: DomainError,
) -> Response:
    """The page again with what went wrong (and what `context` keeps of the entries)."""
    return console_render(
        request, page, template, {**context, "problem": str(error)}, status_code=error.status
    )


def console_missing(request: Request, page: ConsolePage, error: DomainError) -> Response:
    """A console page for something that is not there (or not this workspace's)."""
    return console_problem(request, page, "admin/missing.html", {}, error)


def back_to(path: str, notice_key: str) -> RedirectResponse:
    """After a change: the page again (303), saying what was done."""
    where, hash_mark, fragment = path.partition("#")
    separator = "&" if "?" in where else "?"
    target = f"{where}{separator}done={notice_key}{hash_mark}{fragment}"
    return RedirectResponse(target, status_code=303)


def notice_of(request: Request, language: str) -> str | None:
    """The notice a `back_to` redirect asked for (only known notice keys are shown)."""
    key = request.query_params.get("done", "")
    if not key.replace("_", "").isalnum():
        return None
    text = translator(language)(f"done.{key}")
    return None if text == f"done.{key}" else text
