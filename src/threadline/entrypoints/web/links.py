"""Pages for the one-time links mailed to agents, and for asking for one: /app/join/<token>
(an invitation: choose a password and join), /app/reset/<token> (a new password), and
/app/forgot (the sign-in page's "forgot your password?"). Following a link signs the agent
in; a used, expired or unknown link says so and what to do instead."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Request
from fastapi.responses import HTMLResponse, Response

from threadline.domain.errors import DomainError
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web._render import language_of
from threadline.entrypoints.web._shell import read_form
from threadline.entrypoints.web.link_mail import send_link
from threadline.entrypoints.web.sign_in import open_session, visitor_form_matches, visitor_page
from threadline.workspace import (
    LinkNotUsable,
    find_workspace,
    open_link,
    reset_link_asked_for,
    sole_workspace_of_email,
    use_link,
)

router = APIRouter(prefix="/app", include_in_schema=False)
Token = Annotated[str, Path(min_length=10, max_length=200)]
PURPOSE_OF_PATH = {"join": "invite", "reset": "reset"}


async def _link_page(
    request: Request, runtime: RuntimeDep, token: str, kind: str, problem: str | None = None
) -> HTMLResponse:
    try:
        async with runtime.sessionmaker() as db:
            link = await open_link(db, token, runtime.clock.now())
        if link["purpose"] != PURPOSE_OF_PATH[kind]:
            raise LinkNotUsable("this link is not known; ask for a new one")
    except LinkNotUsable as gone:
        return visitor_page(request, "link_gone.html", {"reason": str(gone)}, gone.status)
    context = {"link": link, "kind": kind, "token": token, "problem": problem}
    return visitor_page(request, "link.html", context, 422 if problem else 200)


@router.get("/join/{token}", response_class=HTMLResponse)
async def join_page(request: Request, runtime: RuntimeDep, token: Token) -> HTMLResponse:
    return await _link_page(request, runtime, token, "join")


@router.get("/reset/{token}", response_class=HTMLResponse)
async def reset_page(request: Request, runtime: RuntimeDep, token: Token) -> HTMLResponse:
    return await _link_page(request, runtime, token, "reset")


@router.post("/join/{token}", response_model=None)
async def join(request: Request, runtime: RuntimeDep, token: Token) -> Response:
    return await _choose_password(request, runtime, token, "join")


@router.post("/reset/{token}", response_model=None)
async def reset(request: Request, runtime: RuntimeDep, token: Token) -> Response:
    return await _choose_password(request, runtime, token, "reset")


async def _choose_password(
    request: Request, runtime: RuntimeDep, token: str, kind: str
) -> Response:
    form = await read_form(request)
    if not visitor_form_matches(request, form):
        return await _link_page(request, runtime, token, kind, "the page had expired; try again")
    try:
        async with runtime.uow() as uow:
            agent = await use_link(
                uow, token, form.get("password", "")[:1001], form.get("repeated", "")[:1001]
            )
            await uow.commit()
    except LinkNotUsable as gone:
        return visitor_page(request, "link_gone.html", {"reason": str(gone)}, gone.status)
    except DomainError as error:
        return await _link_page(request, runtime, token, kind, str(error))
    return open_session(request, runtime, agent)


@router.get("/forgot", response_class=HTMLResponse)
async def forgot_page(request: Request) -> HTMLResponse:
    return visitor_page(request, "forgot.html", {"email": "", "workspace": ""})


@router.post("/forgot", response_model=None)
async def forgot(request: Request, runtime: RuntimeDep, later: BackgroundTasks) -> Response:
    """The answer is the same whether or not the address has an account (it names none);
    the mail, when there is one to send, goes out after the answer."""
    form = await read_form(request)
    email = form.get("email", "").strip()[:320]
    slug = form.get("workspace", "").strip()[:100]
    if not visitor_form_matches(request, form) or "@" not in email:
        context = {"email": email, "workspace": slug, "problem": "forgot.check"}
        return visitor_page(request, "forgot.html", context, 422)
    async with runtime.uow() as uow:
        workspace = await find_workspace(
            uow.session, slug or await sole_workspace_of_email(uow.session, email)
        )
        issued = await reset_link_asked_for(uow, workspace.id, email) if workspace else None
        await uow.commit()
    if issued is not None:
        later.add_task(send_link, request, runtime, issued, language_of(request))
    return visitor_page(request, "forgot.html", {"sent": True, "email": email})
