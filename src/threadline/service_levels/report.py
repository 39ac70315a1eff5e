"""The per-conversation SLA report: every clock, and the measurements a report needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_visible_conversation
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.security.access import Principal
from threadline.domain.service_levels.sla import ClockKind
from threadline.service_levels.clocks.views import clock_view


async def conversation_sla(
    uow: UnitOfWork, principal: Principal, conversation_id: int
) -> dict[str, Any]:
    """Every clock of the conversation, and the measurements a report needs."""
    conversation = await get_visible_conversation(uow.session, principal, conversation_id)
    clocks = list(
        (
            await uow.session.execute(
                select(t.SlaClock)
                .where(t.SlaClock.conversation_id == conversation.id)
                .order_by(t.SlaClock.started_at, t.SlaClock.id)
            )
        ).scalars()
    )
    views = [clock_view(clock) for clock in clocks]
    responses = [_measurement(v) for v in views if v["kind"] != ClockKind.RESOLUTION.value]
    first = next((m for m in responses if m["kind"] == ClockKind.FIRST_RESPONSE.value), None)
    resolutions = [_measurement(v) for v in views if v["kind"] == ClockKind.RESOLUTION.value]
    return {
        "conversation_id": conversation.id,
        "clocks": views,
        "first_response": first,
        "responses": responses,
        "resolution": resolutions[-1] if resolutions else None,
        "met": {
            kind.value: [v["met"] for v in views if v["kind"] == kind.value and v["stopped_at"]]
            for kind in ClockKind
        },
    }


def _measurement(view: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": view["kind"],
        "started_at": view["started_at"],
        "stopped_at": view["stopped_at"],
        "due_at": view["due_at"],
        "elapsed_seconds": view["elapsed_seconds"],
        "working_seconds": view["working_seconds"],
        "met": view["met"],
        "state": view["state"],
    }
