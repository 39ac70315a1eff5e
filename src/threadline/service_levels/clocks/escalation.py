"""The clocks' timers fire: a clock's warning or breach is marked once (warned_at,
breached_at), sla.warning / sla.breached is emitted and the policy's escalation actions for
that stage run (notify the supervisors, raise the priority, reroute)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from threadline.adapters.db import tables as t
from threadline.core.lookups import find_scoped
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import conversation_scope, conversation_view
from threadline.domain.events import ConversationUpdated, SlaBreached, SlaEscalated, SlaWarning
from threadline.domain.security.access import Role
from threadline.domain.service_levels.sla import EscalationAction, raised_priority
from threadline.service_levels.clocks.views import clock_view


async def _running_clock(
    uow: UnitOfWork, workspace_id: int, payload: dict[str, Any]
) -> t.SlaClock | None:
    """The timer's clock, locked, unless it is gone, stopped or paused (then a stage due on
    it has nothing to escalate)."""
    clock_id = payload.get("clock_id")
    if not isinstance(clock_id, int):
        return None
    clock = await find_scoped(uow.session, t.SlaClock, workspace_id, clock_id, lock=True)
    if clock is None or clock.stopped_at or clock.paused_at:
        return None
    return clock


async def on_warning_due(
    uow: UnitOfWork, workspace_id: int, payload: dict[str, Any], fired_at: datetime
) -> None:
    clock = await _running_clock(uow, workspace_id, payload)
    if clock is None or clock.warned_at:
        return
    clock.warned_at = fired_at
    await _escalate(uow, clock, "warning", SlaWarning)


async def on_breach_due(
    uow: UnitOfWork, workspace_id: int, payload: dict[str, Any], fired_at: datetime
) -> None:
    clock = await _running_clock(uow, workspace_id, payload)
    if clock is None or clock.breached_at:
        return
    # The breach happened at the deadline, even if a worker was down and fires it late.
    clock.breached_at = min(fired_at, clock.due_at)
    await _escalate(uow, clock, "breach", SlaBreached)


async def _escalate(
    uow: UnitOfWork,
    clock: t.SlaClock,
    stage: str,
    stage_reached: type[SlaWarning] | type[SlaBreached],
) -> None:
    session = uow.session
    conversation = (
        await session.execute(
            select(t.Conversation)
            .where(t.Conversation.id == clock.conversation_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if conversation is None:
        return
    policy = await session.get(t.SlaPolicy, clock.policy_id) if clock.policy_id else None
    actions: list[str] = list((policy.escalation if policy else {}).get(stage, []))
    uow.emit(
        clock.workspace_id,
        stage_reached(
            clock=clock_view(clock),
            policy=policy.name if policy else None,
            actions=actions,
            conversation=conversation_scope(conversation),
        ),
    )
    changed = False
    for action in actions:
        if action == EscalationAction.NOTIFY_SUPERVISOR.value:
            await _notify_supervisors(uow, clock, conversation, stage)
        elif action == EscalationAction.RAISE_PRIORITY.value:
            raised = raised_priority(conversation.priority)
            changed = changed or raised != conversation.priority
            conversation.priority = raised
        elif action == EscalationAction.REROUTE.value and conversation.assignee_id is not None:
            # Back to the team's queue, so routing offers it to someone available.
            conversation.assignee_id = None
            changed = True
    if changed:
        await session.flush()
        uow.emit(
            conversation.workspace_id,
            ConversationUpdated(conversation_view(conversation), reason=f"sla.{stage}"),
        )


async def _notify_supervisors(
    uow: UnitOfWork, clock: t.SlaClock, conversation: t.Conversation, stage: str
) -> None:
    supervisors = (
        await uow.session.execute(
            select(t.Agent.id)
            .where(
                t.Agent.workspace_id == clock.workspace_id,
                t.Agent.active.is_(True),
                t.Agent.role.in_([Role.SUPERVISOR.value, Role.ADMIN.value]),
            )
            .order_by(t.Agent.id)
        )
    ).scalars()
    uow.emit(
        clock.workspace_id,
        SlaEscalated(
            action=EscalationAction.NOTIFY_SUPERVISOR.value,
            stage=stage,
            notify_roles=[Role.SUPERVISOR.value, Role.ADMIN.value],
            notify_agent_ids=list(supervisors),
            clock=clock_view(clock),
            conversation=conversation_scope(conversation),
        ),
    )
