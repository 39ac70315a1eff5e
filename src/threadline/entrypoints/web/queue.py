"""The supervisors' queue: who is waiting, in which order, and how much each agent holds."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from threadline.conversations import queries
from threadline.domain.conversations import ConversationStatus
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web._render import page_session, render
from threadline.entrypoints.web._shell import shell, to_login
from threadline.routing import open_assignment_counts, queue_positions
from threadline.workspace import list_agents

router = APIRouter(prefix="/app", include_in_schema=False)


@router.get("/queue", response_class=HTMLResponse, response_model=None)
async def queue_page(request: Request, runtime: RuntimeDep) -> Response:
    session = await page_session(request, runtime)
    if session is None:
        return to_login()
    principal = session.principal
    frame = await shell(runtime, session)
    if not frame["is_supervisor"]:
        return render(
            request, "forbidden.html", frame, status_code=403, csrf_token=session.csrf_token
        )
    now = runtime.clock.now()
    async with runtime.sessionmaker() as db:
        rows, waiting = await queries.list_conversation_rows(
            db,
            principal,
            queries.ConversationFilters(status=ConversationStatus.OPEN, unassigned=True),
            limit=queries.MAX_PAGE,
        )
        places = await queue_positions(db, principal.workspace_id, rows, now)
        positions = [{"conversation": item, "queue": places[item["id"]]} for item in waiting.items]
        agents = await list_agents(db, principal)
        load = await open_assignment_counts(db, principal.workspace_id)
    return render(
        request,
        "queue.html",
        {**frame, "waiting": positions, "agents": agents, "load": load},
        csrf_token=session.csrf_token,
    )
