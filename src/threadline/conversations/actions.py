"""Agent actions on a conversation: status, assignment, priority and labels.

Each function is one use-case inside the caller's unit of work and emits
`conversation.updated` with the conversation as it now is, labels included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.content.wrap_up_codes import WrapUp, check_wrap_up
from threadline.conversations.reopen import (
    apply_lifecycle,
    lifecycle_of,
    reopen_conversation,
    reopened_view,
)
from threadline.core.lookups import get_scoped, get_visible_conversation
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import conversation_view, iso
from threadline.csat.survey import plan_survey
from threadline.domain.conversations import (
    ConversationStatus,
    Priority,
    ReopenCause,
    check_snooze,
    resolve,
    set_aside,
)
from threadline.domain.errors import DomainError, Forbidden
from threadline.domain.events import ConversationUpdated
from threadline.domain.security.access import ROLE_RANK, Principal, Role

MAX_LABEL_LENGTH = 100
MAX_LABELS = 50


class Keep(Enum):
    """Marks an assignment field the caller did not mention, as opposed to clearing it."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True)
class ConversationState:
    conversation: t.Conversation
    labels: list[str]


async def change_status(
    uow: UnitOfWork,
    principal: Principal,
    conversation_id: int,
    status: ConversationStatus,
    snoozed_until: datetime | None = None,
    wrap_up: WrapUp | None = None,
    with_follow_up: bool = False,
) -> ConversationState:
    """Resolving needs a wrap-up (code and summary) and plans the CSAT survey;
    `with_follow_up` says the caller plans a follow-up in the same transaction."""
    conversation = await get_visible_conversation(
        uow.session, principal, conversation_id, lock=True
    )
    now = uow.clock.now()
    newly_resolved = (
        status is ConversationStatus.RESOLVED
        and conversation.status != ConversationStatus.RESOLVED.value
    )
    if wrap_up is not None and status is not ConversationStatus.RESOLVED:
        raise DomainError("a wrap-up goes only with the resolved status")
    checked = None
    if newly_resolved or wrap_up is not None:
        checked = await check_wrap_up(
            uow.session, conversation, wrap_up, with_follow_up=with_follow_up
        )
    check_snooze(status, snoozed_until, now)
    reopening = None
    if status is ConversationStatus.RESOLVED:
        given = (checked.code, checked.summary) if checked is not None else None
        apply_lifecycle(conversation, resolve(lifecycle_of(conversation), now, given))
    else:
        reopening = await reopen_conversation(
            uow, conversation, ReopenCause.STATUS_CHANGED, agent_id=principal.agent_id, to=status
        )
        after = set_aside(lifecycle_of(conversation), status, iso(snoozed_until))
        apply_lifecycle(conversation, after)
    if newly_resolved:
        await plan_survey(uow, conversation)
    return await _updated(uow, conversation, reopened_view(reopening))


async def assign(
    uow: UnitOfWork,
    principal: Principal,
    conversation_id: int,
    *,
    assignee_id: int | Keep | None = KEEP,
    team_id: int | Keep | None = KEEP,
) -> ConversationState:
    """Agents may take a conversation (or let go of their own); supervisors assign anyone
    and move conversations between teams (an agent hands their own on by transfer)."""
    session = uow.session
    ws = principal.workspace_id
    conversation = await get_visible_conversation(session, principal, conversation_id, lock=True)
    is_supervisor = ROLE_RANK[principal.role] >= ROLE_RANK[Role.SUPERVISOR]
    if not isinstance(assignee_id, Keep):
        if not is_supervisor:
            _check_self_assignment(principal, conversation, assignee_id)
        if assignee_id is not None:
            agent = await get_scoped(session, t.Agent, ws, assignee_id)
            if not agent.active:
                raise DomainError(f"agent {agent.id} is deactivated and cannot be assigned")
        conversation.assignee_id = assignee_id
    if not isinstance(team_id, Keep) and team_id != conversation.team_id:
        if not is_supervisor:
            raise Forbidden(
                "only a supervisor or an admin can move a conversation to another team; "
                "transfer a conversation of your own instead"
            )
        if team_id is not None:
            await get_scoped(session, t.Team, ws, team_id)
        conversation.team_id = team_id
    return await _updated(uow, conversation)


def _check_self_assignment(
    principal: Principal, conversation: t.Conversation, assignee_id: int | None
) -> None:
    me = principal.agent_id
    if assignee_id is None:
        if conversation.assignee_id not in (None, me):
            raise Forbidden("only a supervisor or an admin can unassign another agent")
        return
    if me is None or assignee_id != me:
        raise Forbidden(
            "agents can assign conversations only to themselves; "
            "ask a supervisor to assign someone else"
        )


async def set_priority(
    uow: UnitOfWork, principal: Principal, conversation_id: int, priority: Priority
) -> ConversationState:
    conversation = await get_visible_conversation(
        uow.session, principal, conversation_id, lock=True
    )
    conversation.priority = priority.value
    return await _updated(uow, conversation)


async def set_labels(
    uow: UnitOfWork, principal: Principal, conversation_id: int, labels: list[str]
) -> ConversationState:
    return await _relabel(
        uow,
        principal,
        conversation_id,
        labels,
        lambda wanted, current: (wanted - current, current - wanted),
    )


async def add_labels(
    uow: UnitOfWork, principal: Principal, conversation_id: int, labels: list[str]
) -> ConversationState:
    return await _relabel(
        uow, principal, conversation_id, labels, lambda wanted, current: (wanted - current, set())
    )


async def remove_labels(
    uow: UnitOfWork, principal: Principal, conversation_id: int, labels: list[str]
) -> ConversationState:
    return await _relabel(
        uow, principal, conversation_id, labels, lambda named, _current: (set(), named)
    )


# (the labels named, the labels it has) -> (labels to add, labels to remove)
LabelChange = Callable[[set[str], set[str]], tuple[set[str], set[str]]]


async def _relabel(
    uow: UnitOfWork,
    principal: Principal,
    conversation_id: int,
    labels: list[str],
    change: LabelChange,
) -> ConversationState:
    conversation = await get_visible_conversation(
        uow.session, principal, conversation_id, lock=True
    )
    named = normalise_labels(labels)
    current = set(await labels_of(uow.session, conversation.id))
    add, remove = change(named, current)
    await _apply_labels(uow.session, conversation, add=add, remove=remove)
    return await _updated(uow, conversation)


def normalise_labels(labels: list[str]) -> set[str]:
    cleaned = {label.strip() for label in labels}
    cleaned.discard("")
    too_long = [label for label in cleaned if len(label) > MAX_LABEL_LENGTH]
    if too_long:
        raise DomainError(f"a label is limited to {MAX_LABEL_LENGTH} characters: {too_long[0]!r}")
    if len(cleaned) > MAX_LABELS:
        raise DomainError(f"a conversation can have at most {MAX_LABELS} labels")
    return cleaned


async def labels_of(session: AsyncSession, conversation_id: int) -> list[str]:
    rows = await session.execute(
        select(t.ConversationLabel.label).where(
            t.ConversationLabel.conversation_id == conversation_id
        )
    )
    return sorted(rows.scalars())


async def _apply_labels(
    session: AsyncSession, conversation: t.Conversation, *, add: set[str], remove: set[str]
) -> None:
    ws = conversation.workspace_id
    if remove:
        await session.execute(
            delete(t.ConversationLabel).where(
                t.ConversationLabel.conversation_id == conversation.id,
                t.ConversationLabel.label.in_(sorted(remove)),
            )
        )
    if not add:
        return
    known = set(
        (
            await session.execute(
                select(t.Label.name).where(t.Label.workspace_id == ws, t.Label.name.in_(add))
            )
        ).scalars()
    )
    for name in sorted(add):
        if name not in known:
            await _ensure_workspace_label(session, ws, name)
        session.add(
            t.ConversationLabel(conversation_id=conversation.id, label=name, workspace_id=ws)
        )
    await session.flush()


async def _ensure_workspace_label(session: AsyncSession, workspace_id: int, name: str) -> None:
    """Keep the workspace's label list (what the UI offers for filtering) complete.

    Two agents may coin the same label at once; the savepoint lets the loser carry on.
    """
    try:
        async with session.begin_nested():
            session.add(t.Label(workspace_id=workspace_id, name=name))
    except IntegrityError:
        pass


async def _updated(
    uow: UnitOfWork, conversation: t.Conversation, reopened: dict[str, Any] | None = None
) -> ConversationState:
    await uow.session.flush()
    labels = await labels_of(uow.session, conversation.id)
    uow.emit(
        conversation.workspace_id,
        ConversationUpdated(conversation_view(conversation, labels), reopened=reopened),
    )
    return ConversationState(conversation, labels)
