"""The conversation list: the agent's inbox, filtered by status, assignee, team, channel,
label and SLA due time, a page at a time."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from threadline.conversations import queries
from threadline.customers import customer_names
from threadline.domain.bounds import row_id_from_text
from threadline.domain.channels import Channel
from threadline.domain.conversations import ConversationStatus
from threadline.domain.errors import DomainError
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.web._render import PageSession, page_session, render
from threadline.entrypoints.web._shell import HOME_PATH, shell, to_login
from threadline.workspace import list_agents, list_teams

router = APIRouter(prefix="/app", include_in_schema=False)

SLA_DUE_WINDOWS = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "24h": timedelta(hours=24)}
FILTERS = ("status", "assignee", "team", "channel", "label", "sla")


def _list_filters(
    session: PageSession,
    runtime: RuntimeDep,
    params: dict[str, str],
) -> queries.ConversationFilters:
    status = params.get("status") or ""
    assignee = params.get("assignee") or ""
    team = params.get("team") or ""
    channel = params.get("channel") or ""
    sla = params.get("sla") or ""
    try:
        return queries.ConversationFilters(
            status=ConversationStatus(status) if status else None,
            assignee_id=(
                session.principal.agent_id if assignee == "mine" else row_id_from_text(assignee)
            ),
            unassigned=assignee == "unassigned",
            team_id=row_id_from_text(team),
            channel=Channel(channel) if channel else None,
            label=(params.get("label") or "").strip()[:100] or None,
            sla_due_before=(
                runtime.clock.now() + SLA_DUE_WINDOWS[sla] if sla in SLA_DUE_WINDOWS else None
            ),
        )
    except ValueError as exc:
        raise DomainError(f"unknown filter value: {exc}") from exc


@router.get("/conversations", response_class=HTMLResponse, response_model=None)
async def conversation_list(
    request: Request,
    runtime: RuntimeDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    session = await page_session(request, runtime)
    if session is None:
        return to_login()
    params = {k: v for k, v in request.query_params.items() if k in FILTERS and v}
    filters = _list_filters(session, runtime, params)
    async with runtime.sessionmaker() as db:
        page = await queries.list_conversations(db, session.principal, filters, cursor=cursor)
        customer_ids = sorted({c["customer_id"] for c in page.items})
        names = await customer_names(db, session.principal, customer_ids)
        agents = await list_agents(db, session.principal)
        teams = await list_teams(db, session.principal)
    next_url = (
        f"{HOME_PATH}?{urlencode({**params, 'cursor': page.next_cursor})}"
        if page.next_cursor
        else None
    )
    return render(
        request,
        "conversations.html",
        {
            **await shell(runtime, session),
            "conversations": page.items,
            "customer_names": names,
            "agents": {a["id"]: a for a in agents},
            "teams": teams,
            "filters": params,
            "statuses": [s.value for s in ConversationStatus],
            "channels": [c.value for c in Channel],
            "sla_windows": list(SLA_DUE_WINDOWS),
            "next_url": next_url,
        },
        csrf_token=session.csrf_token,
    )
