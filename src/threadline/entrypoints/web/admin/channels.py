"""The console's Channels section: every channel account (inbox) with the URL to paste at its
provider and its latest traffic, a guided form to connect a new one of each kind, and the
same form to change one. Secrets are write-only. An email channel can send a test mail and
check its mailbox, reporting what the server answered."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from threadline.core.views import inbox_view
from threadline.domain.channels import Channel
from threadline.domain.errors import DomainError, NotFound
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web._render import language_of, translator
from threadline.entrypoints.web.admin._console import (
    CONSOLE_PATH,
    ConsolePage,
    ConsolePost,
    PathId,
    back_to,
    console_missing,
    console_post,
    console_render,
    open_console,
)
from threadline.entrypoints.web.admin.channel_view import (
    ICONS,
    channel_kinds,
    field_rows,
    traffic_lines,
    webhook_urls,
)
from threadline.entrypoints.web.link_mail import public_base
from threadline.integrations.setup_forms import (
    FORMS,
    FormProblem,
    entered_values,
    settings_after,
)
from threadline.workspace import (
    add_inbox,
    inbox_for_check,
    list_inboxes,
    traffic_of,
    update_inbox,
)

CHANNELS_PATH = f"{CONSOLE_PATH}/channels"
router = APIRouter(prefix=CHANNELS_PATH, include_in_schema=False)
MAX_CHANNEL_FIELDS = 30


async def _inboxes(runtime: RuntimeDep, page: ConsolePage) -> list[dict[str, Any]]:
    async with runtime.sessionmaker() as db:
        return [inbox_view(i) for i in await list_inboxes(db, page.principal)]


@router.get("", response_class=HTMLResponse, response_model=None)
async def channels_page(request: Request, runtime: RuntimeDep) -> Response:
    page = await open_console(request, runtime, "channels")
    if not isinstance(page, ConsolePage):
        return page
    inboxes = await _inboxes(runtime, page)
    async with runtime.sessionmaker() as db:
        traffic = await traffic_of(db, page.principal)
    t, now, base = (
        translator(language_of(request)),
        runtime.clock.now(),
        public_base(request, runtime),
    )
    for inbox in inboxes:
        form = FORMS.get(Channel(inbox["channel"]))
        inbox["traffic"] = traffic_lines(traffic.get(inbox["id"]), now, t)
        inbox["webhooks"] = webhook_urls(form, base, inbox["id"]) if form else []
    context = {"inboxes": inboxes, "kinds": channel_kinds(), "icons": ICONS}
    return console_render(request, page, "admin/channels.html", context)


def _form_of(kind: str) -> Any:
    try:
        return FORMS[Channel(kind)]
    except (ValueError, KeyError):
        raise NotFound(f"there is no channel kind {kind!r}") from None


async def _channel_page(
    request: Request,
    runtime: RuntimeDep,
    page: ConsolePage,
    kind: str,
    inbox: dict[str, Any] | None,
    status_code: int = 200,
    **shown: Any,
) -> Response:
    form = _form_of(kind)
    base = public_base(request, runtime)
    context = {
        "kind": kind,
        "inbox": inbox,
        "rows": field_rows(form, inbox),
        "doc": form.doc,
        "icons": ICONS,
        "webhooks": webhook_urls(form, base, inbox["id"]) if inbox else [],
        **shown,
    }
    return console_render(request, page, "admin/channel.html", context, status_code=status_code)


@router.get("/new/{kind}", response_class=HTMLResponse, response_model=None)
async def new_channel_page(request: Request, runtime: RuntimeDep, kind: str) -> Response:
    page = await open_console(request, runtime, "channels")
    if isinstance(page, ConsolePage):
        try:
            page_of_kind = await _channel_page(request, runtime, page, kind, None)
        except NotFound as missing:
            return console_missing(request, page, missing)
        return page_of_kind
    return page


@router.post("/new/{kind}", response_model=None)
async def add_channel(request: Request, runtime: RuntimeDep, kind: str) -> Response:
    posted = await console_post(request, runtime, "channels", MAX_CHANNEL_FIELDS)
    if not isinstance(posted, ConsolePost):
        return posted
    page, posted_form = posted.page, posted.form
    name = posted_form.get("name", "").strip()[:200]
    try:
        changes = entered_values(_form_of(kind), posted_form, creating=True)
        async with runtime.uow() as uow:
            inbox = await add_inbox(
                uow,
                page.principal,
                name=name,
                channel=Channel(kind),
                address=changes.get("address"),  # type: ignore[arg-type]
                settings=settings_after({}, changes["settings"]),  # type: ignore[arg-type]
                secret=changes.get("secret"),  # type: ignore[arg-type]
                egress=runtime.settings.egress_policy(),
            )
            await uow.commit()
    except (DomainError, FormProblem) as error:
        return await _refused_form(request, runtime, page, kind, None, error, posted_form)
    return back_to(f"{CHANNELS_PATH}/{inbox.id}", "channel_added")


async def _refused_form(
    request: Request,
    runtime: RuntimeDep,
    page: ConsolePage,
    kind: str,
    inbox: dict[str, Any] | None,
    error: Exception,
    posted: dict[str, str],
) -> Response:
    status = error.status if isinstance(error, DomainError) else 422
    if isinstance(error, NotFound) and inbox is None and kind not in channel_kinds():
        return console_missing(request, page, error)
    return await _channel_page(
        request, runtime, page, kind, inbox, status, problem=str(error), entered=posted
    )


async def _inbox(runtime: RuntimeDep, page: ConsolePage, inbox_id: int) -> dict[str, Any]:
    """One inbox of the workspace as pages show it (NotFound for another's or none)."""
    async with runtime.sessionmaker() as db:
        return inbox_view(await inbox_for_check(db, page.principal, inbox_id))


@router.get("/{inbox_id:int}", response_class=HTMLResponse, response_model=None)
async def channel_page(request: Request, runtime: RuntimeDep, inbox_id: PathId) -> Response:
    page = await open_console(request, runtime, "channels")
    if not isinstance(page, ConsolePage):
        return page
    try:
        inbox = await _inbox(runtime, page, inbox_id)
    except NotFound as missing:
        return console_missing(request, page, missing)
    return await _channel_page(request, runtime, page, inbox["channel"], inbox)


async def channel_page_with(
    request: Request,
    runtime: RuntimeDep,
    page: ConsolePage,
    inbox_id: int,
    status_code: int,
    **shown: Any,
) -> Response:
    """A channel's page as the answer to a post on it (a check's result, a problem)."""
    inbox = await _inbox(runtime, page, inbox_id)
    return await _channel_page(
        request, runtime, page, inbox["channel"], inbox, status_code, **shown
    )


@router.post("/{inbox_id:int}", response_model=None)
async def save_channel(request: Request, runtime: RuntimeDep, inbox_id: PathId) -> Response:
    posted = await console_post(request, runtime, "channels", MAX_CHANNEL_FIELDS)
    if not isinstance(posted, ConsolePost):
        return posted
    page, posted_form = posted.page, posted.form
    try:
        inbox = await _inbox(runtime, page, inbox_id)
    except NotFound as missing:
        return console_missing(request, page, missing)
    try:
        changes = entered_values(_form_of(inbox["channel"]), posted_form, creating=False)
        changes["settings"] = settings_after(inbox["settings"], changes["settings"])  # type: ignore[arg-type]
        changes["name"] = posted_form.get("name", "").strip()[:200]
        async with runtime.uow() as uow:
            await update_inbox(
                uow, page.principal, inbox_id, changes, egress=runtime.settings.egress_policy()
            )
            await uow.commit()
    except (DomainError, FormProblem) as error:
        return await _refused_form(
            request, runtime, page, inbox["channel"], inbox, error, posted_form
        )
    return back_to(f"{CHANNELS_PATH}/{inbox_id}", "channel_saved")
