"""The agent's open tasks: follow-ups and callbacks, with their due times."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from threadline.core.views import task_view
from threadline.domain.tasks import TaskStatus
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web._render import page_session, render
from threadline.entrypoints.web._shell import shell, to_login
from threadline.follow_ups import TaskFilter, list_tasks

router = APIRouter(prefix="/app", include_in_schema=False)


@router.get("/tasks", response_class=HTMLResponse, response_model=None)
async def tasks_page(request: Request, runtime: RuntimeDep) -> Response:
    session = await page_session(request, runtime)
    if session is None:
        return to_login()
    now = runtime.clock.now()
    async with runtime.sessionmaker() as db:
        tasks = await list_tasks(db, session.principal, TaskFilter(status=TaskStatus.OPEN))
    return render(
        request,
        "tasks.html",
        {
            **await shell(runtime, session),
            "tasks": [task_view(k, now) for k in tasks],
        },
        csrf_token=session.csrf_token,
    )
