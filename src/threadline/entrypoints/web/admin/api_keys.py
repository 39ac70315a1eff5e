"""The console's API keys: one per app or integration, named for who uses it, shown once when
it is made (only its prefix afterwards), revoked when that app is gone."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from threadline.domain.errors import DomainError
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web.admin._console import (
    CONSOLE_PATH,
    ConsolePage,
    ConsolePost,
    PathId,
    back_to,
    console_post,
    console_render,
    open_console,
)
from threadline.workspace import api_key_view, issue_api_key, list_api_keys, revoke_api_key

KEYS_PATH = f"{CONSOLE_PATH}/api-keys"
router = APIRouter(prefix=KEYS_PATH, include_in_schema=False)


async def _keys_page(
    request: Request, runtime: RuntimeDep, page: ConsolePage, status_code: int = 200, **extra: Any
) -> Response:
    async with runtime.sessionmaker() as db:
        keys = [api_key_view(k) for k in await list_api_keys(db, page.principal)]
    keys.sort(key=lambda k: (not k["active"], k["name"].lower()))
    return console_render(
        request, page, "admin/api_keys.html", {"keys": keys, **extra}, status_code=status_code
    )


@router.get("", response_class=HTMLResponse, response_model=None)
async def keys_page(request: Request, runtime: RuntimeDep) -> Response:
    page = await open_console(request, runtime, "api_keys")
    if not isinstance(page, ConsolePage):
        return page
    return await _keys_page(request, runtime, page)


@router.post("", response_model=None)
async def make_key(request: Request, runtime: RuntimeDep) -> Response:
    posted = await console_post(request, runtime, "api_keys")
    if not isinstance(posted, ConsolePost):
        return posted
    page, form = posted.page, posted.form
    name = form.get("key_name", "")[:200]
    try:
        async with runtime.uow() as uow:
            key, plaintext = await issue_api_key(uow, page.principal, name)
            await uow.commit()
    except DomainError as error:
        return await _keys_page(
            request, runtime, page, error.status, problem=str(error), key_name=name
        )
    # Shown in this answer only (never stored, never in a URL): the page says to copy it now.
    return await _keys_page(request, runtime, page, 201, new_key=plaintext, new_key_name=key.name)


@router.post("/{key_id}/revoke", response_model=None)
async def revoke_key(request: Request, runtime: RuntimeDep, key_id: PathId) -> Response:
    posted = await console_post(request, runtime, "api_keys")
    if not isinstance(posted, ConsolePost):
        return posted
    page = posted.page
    try:
        async with runtime.uow() as uow:
            await revoke_api_key(uow, page.principal, key_id)
            await uow.commit()
    except DomainError as error:
        return await _keys_page(request, runtime, page, error.status, problem=str(error))
    return back_to(KEYS_PATH, "key_revoked")
