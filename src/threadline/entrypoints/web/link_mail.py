"""Mailing a one-time link just made (an invitation, a password reset): it is sent after its
link is stored, and what the relay answered is stored with it."""

from __future__ import annotations

from fastapi import Request

from threadline.entrypoints.api.deps import RuntimeDep
from threadline.integrations.email.account_mail import link_url, mail_link
from threadline.workspace import IssuedLink, mail_sending_inbox, record_link_mail


def public_base(request: Request, runtime: RuntimeDep) -> str:
    return runtime.settings.public_base_url or str(request.base_url)


async def send_link(
    request: Request, runtime: RuntimeDep, issued: IssuedLink, language: str
) -> tuple[str, str | None]:
    """The link's URL, and None once mailed or why it was not."""
    url = link_url(public_base(request, runtime), issued)
    async with runtime.sessionmaker() as db:
        inbox = await mail_sending_inbox(db, issued.workspace_id)
    problem = await mail_link(runtime.settings, inbox, issued, url, language, runtime.clock.now())
    async with runtime.uow() as uow:
        await record_link_mail(uow, issued.link_id, problem)
        await uow.commit()
    return url, problem
