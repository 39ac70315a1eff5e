"""The visitor API behind the chat frame (same origin as the frame: no CORS on purpose).

Visitors are not agents: they carry a signed visitor token (X-Visitor-Token) that names one
workspace, one web-chat inbox and one web_visitor identity, and nothing else.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import FileResponse
from pydantic import Field

from threadline.adapters.attachments import attachment_path, safe_filename, store_attachment
from threadline.bootstrap import Runtime
from threadline.domain.channels import IdentityKind
from threadline.domain.customers.identities import normalise_identity
from threadline.domain.errors import DomainError, NotFound
from threadline.domain.messaging.web_chat import (
    MAX_MESSAGE_CHARS,
    VisitorClaims,
    matching_invitation,
)
from threadline.entrypoints.api.deps import AdminDep, RuntimeDep
from threadline.entrypoints.api.openapi import DOWNLOAD, problem_responses
from threadline.entrypoints.api.schemas import RowId, StrictBody
from threadline.entrypoints.sliding_window import SlidingWindowLimiter
from threadline.web_chat import (
    EmailOutcome,
    find_widget_inbox,
    latest_conversation_id,
    note_offline_follow_up,
    presented_visitor,
    record_visitor_email,
    send_visitor_message,
    start_visitor_session,
    update_widget_settings,
    visitor_customer_id,
    visitor_may_download,
    visitor_state,
    widget_admin_view,
    widget_settings,
)

router = APIRouter(prefix="/api/v1/widget", tags=["web chat"])

# Per visitor, per process (see entrypoints/sliding_window.py): enough for a person, not for
# a script.
SEND_LIMIT = 20
SEND_WINDOW_SECONDS = 60.0
_limiter = SlidingWindowLimiter()


class RateLimited(DomainError):
    status = 429
    title = "Too many messages"


class SessionBody(StrictBody):
    inbox: str = Field(min_length=1, max_length=200, description="The widget's public key")
    token: str | None = Field(default=None, max_length=2000)
    user_id: str | None = Field(default=None, min_length=1, max_length=300)
    user_hash: str | None = Field(default=None, max_length=200)
    # Ignored: the frame's language is chosen when it is served (/widget/frame). Still
    # accepted, so frames loaded before it was dropped are not refused.
    lang: str | None = Field(default=None, max_length=20)


class MessageBody(StrictBody):
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)


class EmailBody(StrictBody):
    email: str = Field(min_length=3, max_length=320)
    offline: bool = Field(default=False, description="Asked because no agent is online")


async def _visitor(runtime: Runtime, token: str | None) -> VisitorClaims:
    """The caller's claims, for requests whose work runs in its own unit of work."""
    async with runtime.sessionmaker() as session:
        return await presented_visitor(session, runtime.settings.secret_key, token)


VisitorToken = Annotated[str | None, Header(alias="X-Visitor-Token")]


def _check_rate(claims: VisitorClaims) -> None:
    wait = _limiter.try_acquire(
        ("widget", claims.workspace_id, claims.visitor_id),
        SEND_LIMIT,
        SEND_WINDOW_SECONDS,
        time.monotonic(),
    )
    if wait is not None:
        raise RateLimited(f"too many messages; try again in {max(1, round(wait))} s")


@router.post("/session", responses=problem_responses(401, 403, 404))
async def start_session(body: SessionBody, runtime: RuntimeDep) -> dict[str, Any]:
    """Start or resume a visitor session. Keep the returned token; send it back next time."""
    async with runtime.sessionmaker() as session:
        visit = await start_visitor_session(
            session,
            runtime.settings.secret_key,
            body.inbox,
            token=body.token,
            user_id=body.user_id,
            user_hash=body.user_hash,
            now=runtime.clock.now(),
        )
    return {
        "token": visit.token,
        "visitor_id": visit.claims.visitor_id,
        "identified": visit.claims.user_id is not None,
        **visit.state,
        "settings": widget_settings(visit.inbox).public(),
    }


@router.post(
    "/messages", status_code=status.HTTP_201_CREATED, responses=problem_responses(401, 409, 429)
)
async def send_message(
    body: MessageBody, runtime: RuntimeDep, x_visitor_token: VisitorToken = None
) -> dict[str, Any]:
    """A visitor's message; a pre-chat email is recorded, unverified, after it."""
    claims = await _visitor(runtime, x_visitor_token)
    if body.email:
        # Checked before anything is stored, so a refusal never leaves half a request done.
        normalise_identity(IdentityKind.EMAIL, body.email, "US")
    _check_rate(claims)
    received = await send_visitor_message(runtime.uow, claims, body.text, name=body.name)
    email = None
    if body.email:
        email = await _record_email(runtime, claims, received.customer_id, body.email, False)
    return {
        "message_id": received.message_id,
        "conversation_id": received.conversation_id,
        "email": _email_view(email),
    }


@router.post(
    "/attachments", status_code=status.HTTP_201_CREATED, responses=problem_responses(401, 413, 429)
)
async def upload_attachment(
    request: Request,
    runtime: RuntimeDep,
    filename: Annotated[str, Query(min_length=1, max_length=300)],
    x_visitor_token: VisitorToken = None,
) -> dict[str, Any]:
    """Send a file: the raw bytes as the body, its type as Content-Type."""
    claims = await _visitor(runtime, x_visitor_token)
    _check_rate(claims)
    data = await request.body()
    if not data:
        raise DomainError("the file is empty")
    description = store_attachment(
        runtime.settings,
        claims.workspace_id,
        data,
        filename=filename,
        content_type=request.headers.get("content-type"),
    )
    received = await send_visitor_message(runtime.uow, claims, "", attachments=(description,))
    return {
        "message_id": received.message_id,
        "conversation_id": received.conversation_id,
        "attachment": description,
    }


@router.get("/attachments/{sha256}", responses={**DOWNLOAD, **problem_responses(401)})
async def download_attachment(
    sha256: str, runtime: RuntimeDep, token: Annotated[str, Query(max_length=2000)]
) -> FileResponse:
    """A file of the visitor's own chat (the token is in the URL so a plain link works)."""
    async with runtime.sessionmaker() as session:
        claims = await presented_visitor(session, runtime.settings.secret_key, token)
        customer_id = await visitor_customer_id(session, claims)
        name = (
            await visitor_may_download(session, claims.workspace_id, customer_id, sha256)
            if customer_id is not None
            else None
        )
    path = attachment_path(runtime.settings, claims.workspace_id, sha256) if name else None
    if path is None:
        raise NotFound("no such file in this chat")
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=safe_filename(name),
        headers={"X-Content-Type-Options": "nosniff"},
    )


@router.post("/email", responses=problem_responses(401, 409))
async def give_email(
    body: EmailBody, runtime: RuntimeDep, x_visitor_token: VisitorToken = None
) -> dict[str, Any]:
    """The visitor's email (offline form, or later): recorded, never merged on its own."""
    async with runtime.sessionmaker() as session:
        claims = await presented_visitor(session, runtime.settings.secret_key, x_visitor_token)
        customer_id = await visitor_customer_id(session, claims)
    if customer_id is None:
        raise DomainError("write a message first, then leave your email")
    outcome = await _record_email(runtime, claims, customer_id, body.email, body.offline)
    return {"email": _email_view(outcome)}


async def _record_email(
    runtime: Runtime, claims: VisitorClaims, customer_id: int, email: str, offline: bool
) -> EmailOutcome:
    async with runtime.uow() as uow:
        outcome = await record_visitor_email(uow, claims, customer_id, email)
        conversation_id = (
            await latest_conversation_id(uow.session, claims.workspace_id, customer_id)
            if offline
            else None
        )
        if conversation_id is not None:
            await note_offline_follow_up(uow, claims, conversation_id, outcome)
        await uow.commit()
    return outcome


def _email_view(outcome: EmailOutcome | None) -> dict[str, Any] | None:
    if outcome is None:
        return None
    return {
        "address": outcome.email,
        "status": outcome.status,
        "replies_by_email": outcome.status in {"attached", "already"},
    }


@router.get("/status", responses=problem_responses(401))
async def visitor_status(
    runtime: RuntimeDep, x_visitor_token: VisitorToken = None
) -> dict[str, Any]:
    """Whether anyone is online, and the place in the queue while waiting."""
    async with runtime.sessionmaker() as session:
        claims = await presented_visitor(session, runtime.settings.secret_key, x_visitor_token)
        return await visitor_state(session, claims, runtime.clock.now())


@router.get("/invitation", responses=problem_responses(404))
async def invitation(
    runtime: RuntimeDep,
    inbox: Annotated[str, Query(max_length=200)],
    path: Annotated[str, Query(max_length=2000)] = "/",
) -> dict[str, Any]:
    """The proactive invitation for a page of the host site, if a rule matches it."""
    async with runtime.sessionmaker() as session:
        found = await find_widget_inbox(session, inbox)
    rule = matching_invitation(widget_settings(found).invitations, path)
    if rule is None:
        return {"invitation": None}
    return {"invitation": {"message": rule.message, "seconds_on_page": rule.seconds_on_page}}


# --- Administration -----------------------------------------------------------------------


class WidgetSettingsBody(StrictBody):
    prechat_enabled: bool = False
    prechat_email_required: bool = False
    welcome_text: str = Field(default="", max_length=500)
    primary_colour: str = "#1f6feb"
    text_colour: str = "#ffffff"
    invitations: list[dict[str, Any]] = Field(default_factory=list, max_length=20)


@router.get("/inboxes/{inbox_id}")
async def get_widget(inbox_id: RowId, principal: AdminDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The widget's settings, public key and embed code (the key is made on first use)."""
    async with runtime.uow() as uow:
        view = await widget_admin_view(uow, principal, inbox_id)
        await uow.commit()
    return {**view, "embed": _embed(view["public_key"])}


@router.put("/inboxes/{inbox_id}")
async def put_widget(
    inbox_id: RowId, body: WidgetSettingsBody, principal: AdminDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        view = await update_widget_settings(uow, principal, inbox_id, body.model_dump())
        await uow.commit()
    return {**view, "embed": _embed(view["public_key"])}


def _embed(key: str) -> str:
    return f'<script src="/widget/loader.js" data-inbox="{key}" async></script>'
