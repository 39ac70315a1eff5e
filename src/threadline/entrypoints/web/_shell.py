"""What every agent page shares: where signing in starts and ends, reading a small form, and
the frame every signed-in page shows (who is signed in, whether they supervise)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import RedirectResponse

from threadline.domain.security.access import Role
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web._render import PageSession
from threadline.workspace import signed_in_agent

LOGIN_PATH = "/app/login"
HOME_PATH = "/app/conversations"
MAX_FORM_BYTES = 20_000


def to_login() -> RedirectResponse:
    return RedirectResponse(LOGIN_PATH, status_code=303)


async def read_form(request: Request, max_fields: int = 20) -> dict[str, str]:
    """A URL-encoded form post (all our forms are small; no files). A post with more than
    `max_fields` fields reads as empty, like one that is not a form at all."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        return {}
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    try:
        return dict(parse_qsl(body.decode("utf-8", "replace"), max_num_fields=max_fields))
    except ValueError:
        return {}


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def shell(runtime: RuntimeDep, session: PageSession) -> dict[str, Any]:
    """What every signed-in page shows: who is signed in and their presence."""
    async with runtime.sessionmaker() as db:
        me = await signed_in_agent(db, session.principal)
    assert me is not None
    return {
        "me": me,
        "is_supervisor": session.principal.role in (Role.SUPERVISOR, Role.ADMIN),
        "is_admin": session.principal.role is Role.ADMIN,
    }
