"""One conversation: its timeline a page at a time, the customer card with the customer's
history across channels, and beside the reply box everything an agent answers with."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from threadline.bootstrap import Runtime
from threadline.content import (
    conversation_suggestions,
    customer_orders,
    list_codes,
    wrap_up_code_view,
)
from threadline.conversations import queries, reply_options
from threadline.core.views import task_view
from threadline.csat import answered_surveys
from threadline.domain.channels import Channel
from threadline.domain.errors import NotFound
from threadline.domain.security.access import Principal
from threadline.domain.tasks import TaskStatus
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.api.schemas import RowId
from threadline.entrypoints.web._render import page_session, render
from threadline.entrypoints.web._shell import shell, to_login
from threadline.follow_ups import TaskFilter, list_tasks
from threadline.service_levels import conversation_sla
from threadline.workspace import list_agents, list_teams

router = APIRouter(prefix="/app", include_in_schema=False)


async def _conversation_reads(
    runtime: Runtime, principal: Principal, conversation_id: int, before: int | None
) -> dict[str, Any]:
    """What the page shows, read in one session (the reply options and the SLA clocks in a
    unit of work of their own); NotFound when the caller may not see the conversation."""
    async with runtime.sessionmaker() as db:
        conversation = await queries.conversation_detail(db, principal, conversation_id)
        timeline = await queries.conversation_timeline(
            db, principal, conversation_id, before_id=before
        )
        card = await queries.customer_card(
            db, principal, conversation["customer_id"], runtime.clock.now()
        )
        csat = await answered_surveys(db, principal.workspace_id, card["conversations"]["recent"])
        agents = await list_agents(db, principal)
        teams = await list_teams(db, principal)
        codes = await list_codes(
            db, principal.workspace_id, team_id=conversation["team_id"], active_only=True
        )
        tasks = await list_tasks(
            db, principal, TaskFilter(status=TaskStatus.OPEN, conversation_id=conversation_id)
        )
        orders = await customer_orders(db, principal, conversation["customer_id"])
        suggestions = await conversation_suggestions(db, principal, conversation_id)
    async with runtime.uow() as uow:
        options = await reply_options(uow, principal, conversation_id)
        sla = await conversation_sla(uow, principal, conversation_id)
    now = runtime.clock.now()
    return {
        "conversation": conversation,
        "messages": timeline.messages,
        "earlier_before_id": timeline.earlier_before_id,
        "card": card,
        "csat": csat,
        "agents": agents,
        "agent_names": {a["id"]: a["name"] for a in agents},
        "teams": teams,
        "codes": [wrap_up_code_view(c) for c in codes],
        "tasks": [task_view(k, now) for k in tasks],
        "reply_options": options,
        "orders": orders,
        "suggestions": suggestions,
        "sla": sla,
    }


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse, response_model=None)
async def conversation_page(
    request: Request,
    runtime: RuntimeDep,
    conversation_id: RowId,
    before: RowId | None = None,
) -> Response:
    """The newest messages of the conversation (a page of them: `?before=<message id>` shows
    the ones before that message, which "load earlier messages" links to)."""
    session = await page_session(request, runtime)
    if session is None:
        return to_login()
    try:
        shown = await _conversation_reads(runtime, session.principal, conversation_id, before)
    except NotFound:
        return render(
            request,
            "not_found.html",
            await shell(runtime, session),
            status_code=404,
            csrf_token=session.csrf_token,
        )
    return render(
        request,
        "conversation.html",
        {
            **await shell(runtime, session),
            **shown,
            "showing_earlier": before is not None,
            "channels": [c.value for c in Channel],
        },
        csrf_token=session.csrf_token,
    )
