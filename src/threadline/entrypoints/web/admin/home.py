"""The console's front page: the "get started" checklist an admin lands on after signing in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web.admin._console import (
    CONSOLE_PATH,
    ConsolePage,
    console_render,
    open_console,
)
from threadline.workspace import setup_steps

router = APIRouter(prefix=CONSOLE_PATH, include_in_schema=False)


@router.get("", response_class=HTMLResponse, response_model=None)
async def get_started(request: Request, runtime: RuntimeDep) -> Response:
    page = await open_console(request, runtime, "start")
    if not isinstance(page, ConsolePage):
        return page
    async with runtime.sessionmaker() as db:
        steps = await setup_steps(db, page.principal)
    return console_render(
        request,
        page,
        "admin/home.html",
        {"steps": steps, "remaining": sum(1 for s in steps if not s.done)},
    )
