"""Transfers: hand a conversation to another agent or team, with a note for whoever takes it.

Agents may transfer the conversations assigned to them; supervisors and admins any. The note
is stored as an internal note in the timeline and starts the explanation of the assignment
that follows, so "why is this mine?" is answered where the new owner looks.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete

from threadline.adapters.db import tables as t
from threadline.conversations.internal_notes import add_internal_note
from threadline.core.lookups import get_scoped, get_visible_conversation
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.channels import Channel
from threadline.domain.conversations import ConversationStatus
from threadline.domain.errors import Conflict, DomainError, Forbidden
from threadline.domain.security.access import ROLE_RANK, Principal, Role
from threadline.routing.assignments.claims import claim, release
from threadline.routing.assignments.work import work_for
from threadline.routing.events import emit_routing_update
from threadline.routing.filling.fill import request_fill
from threadline.routing.offers.offers import withdraw_offer
from threadline.routing.route import route
from threadline.routing.settings import is_auto
from threadline.routing.steps import ensure_progress

MAX_TRANSFER_NOTE = 2_000


@dataclass(frozen=True, slots=True)
class TransferResult:
    conversation: t.Conversation
    assignment: t.Assignment | None
    explanation: str


async def transfer(
    uow: UnitOfWork,
    principal: Principal,
    conversation_id: int,
    *,
    agent_id: int | None = None,
    team_id: int | None = None,
    note: str = "",
) -> TransferResult:
    if (agent_id is None) == (team_id is None):
        raise DomainError("transfer to either an agent (agent_id) or a team (team_id)")
    note = note.strip()
    if len(note) > MAX_TRANSFER_NOTE:
        raise DomainError(f"a transfer note is limited to {MAX_TRANSFER_NOTE} characters")
    session = uow.session
    ws = principal.workspace_id
    conversation = await get_visible_conversation(session, principal, conversation_id, lock=True)
    _check_may_transfer(principal, conversation)
    target_agent = await get_scoped(session, t.Agent, ws, agent_id) if agent_id else None
    target_team = await get_scoped(session, t.Team, ws, team_id) if team_id else None
    if target_agent is not None:
        _check_may_take(target_agent, conversation)
    by = await _who(uow, principal)
    to = target_agent.name if target_agent else f"team {target_team.name}"  # type: ignore[union-attr]
    because = await _because(uow, conversation, by, to, note)
    await add_internal_note(uow, principal, conversation.id, f"Transferred to {to}. {note}".strip())
    await withdraw_offer(uow, conversation, "transferred")
    released = await release(uow, conversation)
    auto = await is_auto(session, ws)
    assignment: t.Assignment | None
    if target_agent is not None:
        assignment = await _to_agent(uow, conversation, target_agent, because, by, auto=auto)
        explanation = assignment.reason
    else:
        assert target_team is not None
        assignment, explanation = await _to_team(uow, conversation, target_team, because, auto)
    if released is not None and auto and released.agent_id != conversation.assignee_id:
        await request_fill(uow, ws, released.agent_id)
    return TransferResult(conversation, assignment, explanation)


def _check_may_transfer(principal: Principal, conversation: t.Conversation) -> None:
    if ROLE_RANK[principal.role] < ROLE_RANK[Role.SUPERVISOR]:
        if principal.agent_id is None or conversation.assignee_id != principal.agent_id:
            raise Forbidden(
                "agents can transfer only conversations assigned to them; ask a supervisor"
            )
    if conversation.status == ConversationStatus.RESOLVED.value:
        raise Conflict("a resolved conversation cannot be transferred; re-open it first")


def _check_may_take(agent: t.Agent, conversation: t.Conversation) -> None:
    if not agent.active:
        raise DomainError(f"agent {agent.id} is deactivated and cannot take work")
    if agent.id == conversation.assignee_id:
        raise Conflict(f"the conversation is already {agent.name}'s")


async def _because(
    uow: UnitOfWork, conversation: t.Conversation, by: str, to: str, note: str
) -> str:
    """How the explanation of the assignment that follows starts."""
    previous = (
        await uow.session.get(t.Agent, conversation.assignee_id)
        if conversation.assignee_id is not None
        else None
    )
    because = f"transferred by {by} from {previous.name if previous else 'the queue'} to {to}"
    if note:
        because += f" with the note: {note}"
    return because


async def _to_agent(
    uow: UnitOfWork,
    conversation: t.Conversation,
    agent: t.Agent,
    because: str,
    by: str,
    *,
    auto: bool,
) -> t.Assignment:
    work = await work_for(uow.session, conversation)
    channel = work.channel if work is not None else Channel.API
    assignment = await claim(
        uow,
        conversation,
        agent,
        channel,
        f"{because}. {agent.name}: chosen by {by}",
        "transfer",
        check_capacity=auto,
    )
    if assignment is None:
        raise Conflict(f"{agent.name} is at capacity; pick someone else or transfer to a team")
    return assignment


async def _to_team(
    uow: UnitOfWork, conversation: t.Conversation, team: t.Team, because: str, auto: bool
) -> tuple[t.Assignment | None, str]:
    """Into the team's queue, routed at once in auto mode; returns the assignment (if any)
    and its explanation."""
    session = uow.session
    conversation.team_id = team.id
    conversation.assignee_id = None
    # A fresh start in the new team: no sticky wait or relaxation carried over, but the
    # transfer and its note are, into whichever assignment ends the wait.
    await session.execute(
        delete(t.RoutingProgress).where(t.RoutingProgress.conversation_id == conversation.id)
    )
    ensure_progress(session, conversation, None, uow.clock.now()).carried_reason = because
    await session.flush()
    assignment: t.Assignment | None = None
    explanation = because
    if auto:
        result = await route(uow, conversation.workspace_id, conversation.id, mode="transfer")
        assignment, explanation = result.assignment, result.explanation
    if assignment is None:
        emit_routing_update(uow, conversation)
    return assignment, explanation


async def _who(uow: UnitOfWork, principal: Principal) -> str:
    if principal.agent_id is not None:
        me = await uow.session.get(t.Agent, principal.agent_id)
        if me is not None:
            return me.name
    return f"an {principal.role.value}"
