"""Inviting agents from the console's People page: the admin names the new agent, their
email and role; the invitation mail goes out through the workspace's relay. When the relay
refuses (or there is none), the page says what it answered and shows the link to pass on.
An admin also sends a fresh invitation, or a password reset link, from an agent's page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from threadline.domain.errors import DomainError
from threadline.domain.security.access import Role
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web._render import language_of
from threadline.entrypoints.web.admin._console import (
    ConsolePage,
    ConsolePost,
    PathId,
    back_to,
    console_post,
)
from threadline.entrypoints.web.admin.people import PEOPLE_PATH, people_page_with
from threadline.entrypoints.web.link_mail import send_link
from threadline.workspace import IssuedLink, invite_again, invite_agent, reset_link_from_admin

router = APIRouter(prefix=PEOPLE_PATH, include_in_schema=False)
INVITABLE_ROLES = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)


async def _sent(
    request: Request, runtime: RuntimeDep, page: ConsolePage, issued: IssuedLink
) -> Response:
    url, problem = await send_link(request, runtime, issued, language_of(request))
    if problem is None:
        notice = "invitation_sent" if issued.is_invitation else "reset_sent"
        return back_to(PEOPLE_PATH, notice)
    # Not mailed: the link is shown on this answer only (never in a URL), to pass on by hand.
    sent: dict[str, Any] = {"purpose": issued.purpose, "name": issued.agent_name}
    return await people_page_with(
        request, runtime, page, 201, unsent_link=url, unsent=sent, mail_problem=problem
    )


@router.post("/invite", response_model=None)
async def invite(request: Request, runtime: RuntimeDep) -> Response:
    posted = await console_post(request, runtime, "people")
    if not isinstance(posted, ConsolePost):
        return posted
    page, form = posted.page, posted.form
    kept = {key: form.get(key, "").strip()[:320] for key in ("invite_name", "invite_email")}
    try:
        role = Role(form.get("invite_role", ""))
        if role not in INVITABLE_ROLES:
            raise ValueError(role)
    except ValueError:
        return await people_page_with(
            request, runtime, page, 422, problem="choose a role: agent, supervisor or admin", **kept
        )
    try:
        async with runtime.uow() as uow:
            issued = await invite_agent(
                uow, page.principal, email=kept["invite_email"], name=kept["invite_name"], role=role
            )
            await uow.commit()
    except DomainError as error:
        return await people_page_with(
            request, runtime, page, error.status, problem=str(error), **kept
        )
    return await _sent(request, runtime, page, issued)


@router.post("/{agent_id:int}/invitation", response_model=None)
async def invite_once_more(request: Request, runtime: RuntimeDep, agent_id: PathId) -> Response:
    return await _link_for(request, runtime, agent_id, "invite")


@router.post("/{agent_id:int}/password-reset", response_model=None)
async def reset_password(request: Request, runtime: RuntimeDep, agent_id: PathId) -> Response:
    return await _link_for(request, runtime, agent_id, "reset")


async def _link_for(request: Request, runtime: RuntimeDep, agent_id: int, purpose: str) -> Response:
    posted = await console_post(request, runtime, "people")
    if not isinstance(posted, ConsolePost):
        return posted
    page = posted.page
    make = invite_again if purpose == "invite" else reset_link_from_admin
    try:
        async with runtime.uow() as uow:
            issued = await make(uow, page.principal, agent_id)
            await uow.commit()
    except DomainError as error:
        return await people_page_with(request, runtime, page, error.status, problem=str(error))
    return await _sent(request, runtime, page, issued)
