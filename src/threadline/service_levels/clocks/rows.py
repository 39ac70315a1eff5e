"""A clock's state read from and written to its row, and the open clocks of a conversation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select

from threadline.adapters.db import tables as t
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.conversations import ConversationStatus
from threadline.domain.service_levels.business_calendar import BusinessCalendar
from threadline.domain.service_levels.sla import ClockKind, ClockState, due_at

WAITING_ON_CUSTOMER = frozenset(
    {ConversationStatus.PENDING.value, ConversationStatus.SNOOZED.value}
)


def stored_state(clock: t.SlaClock) -> ClockState:
    return ClockState(
        started_at=clock.started_at,
        target=timedelta(seconds=clock.target_seconds),
        paused_at=clock.paused_at,
        paused=timedelta(seconds=clock.paused_seconds),
        stopped_at=clock.stopped_at,
    )


def store_state(clock: t.SlaClock, state: ClockState, calendar: BusinessCalendar) -> None:
    clock.paused_at = state.paused_at
    clock.paused_seconds = state.paused.total_seconds()
    clock.stopped_at = state.stopped_at
    clock.due_at = due_at(state, calendar)


async def open_clocks(
    uow: UnitOfWork, conversation_id: int, kinds: Sequence[ClockKind] | None = None
) -> list[t.SlaClock]:
    query = (
        select(t.SlaClock)
        .where(t.SlaClock.conversation_id == conversation_id, t.SlaClock.stopped_at.is_(None))
        .order_by(t.SlaClock.id)
        .with_for_update()
    )
    if kinds is not None:
        query = query.where(t.SlaClock.kind.in_([kind.value for kind in kinds]))
    return list((await uow.session.execute(query)).scalars())
