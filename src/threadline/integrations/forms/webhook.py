"""The public contact form of a form inbox: GET shows a plain form, POST stores a message.

Browsers post URL-encoded or multipart data and get pages back (a redirect to the inbox's
thank_you_url, or a small thank-you page); sites posting JSON get JSON. The sender's email
(else phone) resolves to the customer, so a form joins the matter they already have open.
Honeypot and rate limit: see docs/channels/forms.md.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from threadline.adapters.attachments import store_attachment
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.conversations import receive_message
from threadline.domain.channels import Channel, IdentityKind
from threadline.domain.errors import DomainError
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.problems import problem
from threadline.entrypoints.api.schemas import RowId
from threadline.entrypoints.sliding_window import app_limiter
from threadline.integrations.forms.body import (
    BadSubmission,
    Submission,
    is_browser_post,
    read_submission,
)
from threadline.integrations.forms.pages import form_page, refusal_page, thanks_page

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/forms", tags=["contact form"])

DEFAULT_HONEYPOT = "website"
DEFAULT_RATE_LIMIT_PER_MINUTE = 5
RATE_WINDOW_SECONDS = 60.0
STANDARD_FIELDS = ("name", "email", "phone", "subject", "message")


class FormRefused(Exception):
    def __init__(self, status: int, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


async def _form_inbox(runtime: Runtime, inbox_id: int) -> t.Inbox | None:
    async with runtime.sessionmaker() as session:
        inbox = await session.get(t.Inbox, inbox_id)
    return inbox if inbox is not None and inbox.channel == Channel.FORM.value else None


def _title(inbox: t.Inbox) -> str:
    title = inbox.settings.get("form_title")
    return title if isinstance(title, str) and title.strip() else f"Contact us — {inbox.name}"


def _honeypot_field(inbox: t.Inbox) -> str:
    name = inbox.settings.get("honeypot_field")
    return name if isinstance(name, str) and name.strip() else DEFAULT_HONEYPOT


def _rate_limit(inbox: t.Inbox) -> int:
    """Posts allowed per client address per minute; 0 turns the limit off."""
    value = inbox.settings.get("rate_limit_per_minute", DEFAULT_RATE_LIMIT_PER_MINUTE)
    return value if isinstance(value, int) and value >= 0 else DEFAULT_RATE_LIMIT_PER_MINUTE


def _thank_you_url(inbox: t.Inbox) -> str | None:
    url = inbox.settings.get("thank_you_url")
    if isinstance(url, str) and urlsplit(url).scheme in {"http", "https"}:
        return url
    return None


@router.get(
    "/{inbox_id}",
    name="contact_form_page",
    response_class=HTMLResponse,
    summary="The contact form page",
)
async def show_form(inbox_id: RowId, request: Request, runtime: RuntimeDep) -> Response:
    inbox = await _form_inbox(runtime, inbox_id)
    if inbox is None:
        return problem(404, "Not found", f"there is no contact form {inbox_id}")
    action = str(request.url_for("contact_form_submit", inbox_id=inbox_id).path)
    return HTMLResponse(form_page(_title(inbox), action, _honeypot_field(inbox)))


# The fields of the default form; a site's own form may add any others.
FORM_FIELDS = {
    "type": "object",
    "properties": {name: {"type": "string"} for name in STANDARD_FIELDS},
    "additionalProperties": {"type": "string"},
}


@router.post(
    "/{inbox_id}",
    name="contact_form_submit",
    summary="Submit the contact form",
    # A browser's post is answered with pages (also when refused), a script's JSON with JSON.
    responses={
        200: {
            "description": "A browser's thank-you page (or, to JSON, a submission set aside)",
            "content": {"text/html": {}, "application/json": {}},
        },
        201: {"description": "Stored (a JSON post)", "content": {"application/json": {}}},
        303: {"description": "Stored; on to the inbox's thank-you page"},
        **problem_responses(400, 413, 415, 429, pages=True),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                media: {"schema": FORM_FIELDS}
                for media in (
                    "application/x-www-form-urlencoded",
                    "multipart/form-data",
                    "application/json",
                )
            },
        }
    },
)
async def submit_form(inbox_id: RowId, request: Request, runtime: RuntimeDep) -> Response:
    inbox = await _form_inbox(runtime, inbox_id)
    if inbox is None:
        return problem(404, "Not found", f"there is no contact form {inbox_id}")
    content_type = request.headers.get("content-type", "")
    browser = is_browser_post(content_type)
    try:
        _check_rate(request, runtime, inbox)
        submission = read_submission(content_type, await request.body())
        if submission.fields.get(_honeypot_field(inbox), "").strip():
            # Looks accepted to the bot, so it does not learn to leave the field empty.
            log.warning("form.honeypot_tripped", inbox_id=inbox.id, client=_client_address(request))
            return _accepted(inbox, browser, None)
        stored = await _store(runtime, inbox, submission, request)
    except FormRefused as refused:
        return _refusal(inbox, browser, refused, request)
    except BadSubmission as exc:
        status = 400 if browser else exc.status
        return _refusal(inbox, browser, FormRefused(status, str(exc)), request)
    except DomainError as exc:
        # An invalid address is the sender's mistake (400 page / 422); a too-large file keeps 413.
        status = 400 if browser and exc.status == 422 else exc.status
        return _refusal(inbox, browser, FormRefused(status, exc.reason), request)
    return _accepted(inbox, browser, stored)


def _client_address(request: Request) -> str:
    # Behind a reverse proxy, run uvicorn with --proxy-headers so this is the visitor's.
    return request.client.host if request.client else "unknown"


def _check_rate(request: Request, runtime: Runtime, inbox: t.Inbox) -> None:
    limit = _rate_limit(inbox)
    if limit == 0:
        return
    wait = app_limiter(request, "form_rate_limiter").try_acquire(
        (inbox.id, _client_address(request)),
        limit,
        RATE_WINDOW_SECONDS,
        runtime.clock.now().timestamp(),
    )
    if wait is not None:
        log.info("form.rate_limited", inbox_id=inbox.id, client=_client_address(request))
        raise FormRefused(
            429,
            f"too many messages from your address; please try again in {math.ceil(wait)} s",
            retry_after=max(math.ceil(wait), 1),
        )


async def _store(
    runtime: Runtime, inbox: t.Inbox, submission: Submission, request: Request
) -> tuple[int, int]:
    fields = {k: v for k, v in submission.fields.items() if k != _honeypot_field(inbox)}
    email = fields.get("email", "").strip()
    phone = fields.get("phone", "").strip()
    if not email and not phone:
        status = 400 if submission.from_browser else 422
        raise FormRefused(status, "please give an email address or a phone number")
    if email:
        sender = SenderIdentity(IdentityKind.EMAIL, email)
        others: tuple[SenderIdentity, ...] = (
            (SenderIdentity(IdentityKind.PHONE, phone),) if phone else ()
        )
    else:
        sender, others = SenderIdentity(IdentityKind.PHONE, phone), ()
    attachments = [
        await asyncio.to_thread(
            store_attachment,
            runtime.settings,
            inbox.workspace_id,
            upload.data,
            filename=upload.filename,
            content_type=upload.content_type,
        )
        for upload in submission.files
    ]
    meta: dict[str, Any] = {"form": fields}
    custom = sorted(k for k in fields if k not in STANDARD_FIELDS)
    if custom:
        meta["form_custom_fields"] = custom
    page = request.headers.get("referer")
    if page:
        meta["form_page"] = page[:2000]
    result = await receive_message(
        runtime.uow,
        inbox.workspace_id,
        InboundMessage(
            inbox_id=inbox.id,
            sender=sender,
            other_identities=others,
            sender_name=fields.get("name", "").strip()[:300] or None,
            channel=Channel.FORM,
            text=fields.get("message", "").strip(),
            subject=fields.get("subject", "").strip()[:500] or None,
            attachments=tuple(attachments),
            meta=meta,
        ),
    )
    log.info("form.received", inbox_id=inbox.id, message_id=result.message_id)
    return result.message_id, result.conversation_id


def _accepted(inbox: t.Inbox, browser: bool, stored: tuple[int, int] | None) -> Response:
    if not browser:
        if stored is None:
            return JSONResponse({"status": "received"}, status_code=200)
        message_id, conversation_id = stored
        return JSONResponse(
            {"message_id": message_id, "conversation_id": conversation_id}, status_code=201
        )
    thank_you = _thank_you_url(inbox)
    if thank_you:
        return RedirectResponse(thank_you, status_code=303)
    return HTMLResponse(thanks_page(_title(inbox)))


def _refusal(inbox: t.Inbox, browser: bool, refused: FormRefused, request: Request) -> Response:
    headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else None
    if not browser:
        titles = {
            400: "Bad request",
            413: "Attachment too large",
            415: "Unsupported media type",
            422: "Invalid form",
            429: "Too many requests",
        }
        response: Response = problem(
            refused.status, titles.get(refused.status, "Error"), refused.reason
        )
        if headers:
            response.headers.update(headers)
        return response
    back = str(request.url_for("contact_form_page", inbox_id=inbox.id).path)
    return HTMLResponse(
        refusal_page(_title(inbox), refused.reason, back),
        status_code=refused.status,
        headers=headers,
    )
