"""Keeping the assignment history in line with the conversation when something other than
routing changed it (resolved, assigned by hand, re-opened)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.channels import Channel
from threadline.domain.conversations import ConversationStatus
from threadline.domain.errors import Conflict
from threadline.routing.assignments.claims import active_assignment, claim, release
from threadline.routing.assignments.load import lock_conversation
from threadline.routing.assignments.work import work_for
from threadline.routing.events import emit_routing_update
from threadline.routing.filling.fill import request_fill
from threadline.routing.offers.offers import withdraw_offer
from threadline.routing.settings import MANUAL, is_auto


async def reconcile(
    uow: UnitOfWork, workspace_id: int, conversation_id: int, *, from_inbound: bool
) -> None:
    """Bring the assignment history in line with the conversation as it now is.

    Resolved or handed to someone else: the active assignment ends. An assignee without an
    active assignment (set by hand, or kept when a resolved matter re-opens) gets one; in auto
    mode only with room for it: a by-hand assignment over capacity is refused, a re-opened
    matter over capacity goes back to the queue.
    """
    session = uow.session
    # The use-case that raised the event holds the conversation's row lock already (it
    # changed the row), and assignments of a conversation change only under that lock:
    # the common "nothing to do" needs no further locking.
    conversation = await session.get(t.Conversation, conversation_id)
    if conversation is None or conversation.workspace_id != workspace_id:
        return
    if await _consistent(session, conversation):
        if (
            conversation.assignee_id is None
            and conversation.status == ConversationStatus.RESOLVED.value
        ):
            await withdraw_offer(uow, conversation, "the conversation was resolved")
        return
    conversation = await lock_conversation(session, workspace_id, conversation_id)
    if conversation is None:
        return
    await withdraw_offer(uow, conversation, "the conversation was assigned otherwise")
    active = await active_assignment(session, conversation.id)
    wanted = _wanted(conversation)
    if active is not None and active.agent_id == wanted:
        return
    freed: int | None = None
    if active is not None:
        await release(uow, conversation)
        freed = active.agent_id
    auto = await is_auto(session, workspace_id)
    if wanted is not None:
        await _assign_history(uow, conversation, wanted, from_inbound=from_inbound, auto=auto)
    if freed is not None and auto:
        await request_fill(uow, workspace_id, freed)


def _wanted(conversation: t.Conversation) -> int | None:
    """The agent who should hold the active assignment: the assignee, unless resolved."""
    resolved = conversation.status == ConversationStatus.RESOLVED.value
    return None if resolved else conversation.assignee_id


async def _assign_history(
    uow: UnitOfWork,
    conversation: t.Conversation,
    agent_id: int,
    *,
    from_inbound: bool,
    auto: bool,
) -> None:
    """The assignment for an assignee the conversation already names (only the history is
    new). Over capacity in auto mode: refused when by hand, back to the queue when the
    customer wrote again."""
    session = uow.session
    agent = await session.get(t.Agent, agent_id)
    work = await work_for(session, conversation)
    channel = work.channel if work is not None else Channel.API
    assert agent is not None
    mode = "reopen" if from_inbound else MANUAL
    reason = (
        f"{agent.name}: kept the conversation when the customer wrote again"
        if from_inbound
        else f"{agent.name}: assigned by hand"
    )
    claimed = await claim(
        uow,
        conversation,
        agent,
        channel,
        reason,
        mode,
        check_capacity=auto,
        conversation_changed=False,
    )
    if claimed is not None:
        return
    if not from_inbound:
        raise Conflict(f"{agent.name} is at capacity; resolve or hand over a conversation first")
    conversation.assignee_id = None
    await session.flush()
    emit_routing_update(uow, conversation)


async def _consistent(session: AsyncSession, conversation: t.Conversation) -> bool:
    active = await active_assignment(session, conversation.id)
    return (active.agent_id if active is not None else None) == _wanted(conversation)
