"""An email channel's two checks on its page: send a test mail (to the admin, through the
relay its replies use) and check its mailbox (sign in over IMAP as the poller would). Each
shows what the server really answered."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from threadline.domain.errors import NotFound
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web.admin._console import (
    ConsolePost,
    PathId,
    console_missing,
    console_post,
)
from threadline.entrypoints.web.admin.channels import CHANNELS_PATH, channel_page_with
from threadline.integrations.email.imap_poller import check_mailbox
from threadline.integrations.email.test_mail import send_test_mail
from threadline.workspace import inbox_for_check, signed_in_agent

router = APIRouter(prefix=CHANNELS_PATH, include_in_schema=False)


@router.post("/{inbox_id:int}/test-mail", response_model=None)
async def test_mail(request: Request, runtime: RuntimeDep, inbox_id: PathId) -> Response:
    return await _check(request, runtime, inbox_id, "test_mail")


@router.post("/{inbox_id:int}/check-mailbox", response_model=None)
async def mailbox(request: Request, runtime: RuntimeDep, inbox_id: PathId) -> Response:
    return await _check(request, runtime, inbox_id, "mailbox")


async def _check(request: Request, runtime: RuntimeDep, inbox_id: int, what: str) -> Response:
    posted = await console_post(request, runtime, "channels")
    if not isinstance(posted, ConsolePost):
        return posted
    page = posted.page
    try:
        async with runtime.sessionmaker() as db:
            inbox = await inbox_for_check(db, page.principal, inbox_id)
            me = await signed_in_agent(db, page.principal)
    except NotFound as missing:
        return console_missing(request, page, missing)
    if inbox.channel != "email":
        return await channel_page_with(
            request,
            runtime,
            page,
            inbox_id,
            422,
            check=(what, False, "only an email channel has a relay and a mailbox to check"),
        )
    if what == "test_mail":
        recipient = me.email if me is not None else ""
        worked, answer = await send_test_mail(
            runtime.settings, inbox, recipient, runtime.clock.now()
        )
    else:
        worked, answer = await check_mailbox(runtime.settings, inbox)
    return await channel_page_with(
        request, runtime, page, inbox_id, 200, check=(what, worked, answer)
    )
