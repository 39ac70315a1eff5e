"""The queue: the waiting unassigned conversations in queue order, and a conversation's place
in it with the estimated wait."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_visible_conversation
from threadline.domain.channels import Channel
from threadline.domain.conversations import ConversationStatus, Priority
from threadline.domain.routing.queue import QueuePolicy, Waiting, queue_order
from threadline.domain.routing.wait_estimate import LOOK_BACK, SAMPLE_SIZE, estimate_wait
from threadline.domain.security.access import Principal
from threadline.routing.assignments.load import PENDING
from threadline.routing.candidates import online_agents

# How far down the queue (at least) the queue position and the fill from the queue look.
WAITING_WINDOW = 100


@dataclass(frozen=True, slots=True)
class WaitingRow:
    waiting: Waiting
    team_id: int | None


def no_pending_offer() -> ColumnElement[bool]:
    """The conversation is not waiting for an agent to answer an offer of it."""
    return ~(
        select(literal_column("1"))
        .where(
            t.RoutingOffer.conversation_id == t.Conversation.id,
            t.RoutingOffer.status == PENDING,
        )
        .exists()
    )


def _boost_classes() -> list[tuple[bool, list[str]]]:
    """Channels grouped by their queue boost: (listed channels, or every channel but them)."""
    boosts = QueuePolicy().channel_boost
    groups: dict[int, list[str]] = {}
    for channel, boost in boosts.items():
        groups.setdefault(boost, []).append(channel.value)
    boosted = [channel.value for channel in boosts]
    return [(True, channels) for _boost, channels in sorted(groups.items())] + [(False, boosted)]


# Fixed for the process: the queue policy's boosts are not configurable per workspace.
_BOOST_CLASSES = _boost_classes()


async def waiting_rows(
    session: AsyncSession,
    workspace_id: int,
    *,
    team_ids: list[int] | None = None,
    same_team_as: t.Conversation | None = None,
    window: int = WAITING_WINDOW,
) -> list[WaitingRow]:
    """The head of the queue: at least the first `window` waiting conversations in queue order.

    Queue order is effective priority (base priority plus aging), then channel boost, then
    age. Within one base priority and one boost, an older conversation always comes first;
    so the oldest `window` of each such group together hold the first `window` overall, however
    long the queue (an urgent conversation is not hidden behind older normal ones).
    """
    query = select(
        t.Conversation.id,
        t.Conversation.priority,
        t.Conversation.last_inbound_channel,
        t.Conversation.last_inbound_at,
        t.Conversation.created_at,
        t.Conversation.team_id,
    ).where(
        t.Conversation.workspace_id == workspace_id,
        t.Conversation.status == ConversationStatus.OPEN.value,
        t.Conversation.assignee_id.is_(None),
        t.Conversation.last_inbound_channel.is_not(None),
        no_pending_offer(),
    )
    if team_ids is not None:
        query = query.where(
            or_(t.Conversation.team_id.is_(None), t.Conversation.team_id.in_(team_ids))
        )
    if same_team_as is not None:
        team = same_team_as.team_id
        query = query.where(
            t.Conversation.team_id.is_(None) if team is None else t.Conversation.team_id == team
        )
    groups = []
    for priority in Priority:
        for listed, channels in _BOOST_CLASSES:
            in_class = t.Conversation.last_inbound_channel.in_(channels)
            group = (
                query.where(
                    t.Conversation.priority == priority.value, in_class if listed else ~in_class
                )
                .order_by(t.Conversation.last_inbound_at, t.Conversation.id)
                .limit(window)
                .subquery()
            )
            groups.append(select(group))
    rows = await session.execute(union_all(*groups))
    return [
        WaitingRow(Waiting(cid, Priority(priority), Channel(channel), since or created), team)
        for cid, priority, channel, since, created, team in rows
        if channel is not None
    ]


async def waiting_work(
    session: AsyncSession,
    workspace_id: int,
    *,
    team_ids: list[int] | None = None,
    same_team_as: t.Conversation | None = None,
) -> list[Waiting]:
    rows = await waiting_rows(session, workspace_id, team_ids=team_ids, same_team_as=same_team_as)
    return [row.waiting for row in rows]


async def recent_handling_times(
    session: AsyncSession, workspace_id: int, channel: str, now: datetime
) -> list[timedelta]:
    """How long the channel's latest finished assignments lasted (domain/routing/wait_estimate)."""
    rows = await session.execute(
        select(t.Assignment.assigned_at, t.Assignment.released_at)
        .where(
            t.Assignment.workspace_id == workspace_id,
            t.Assignment.channel == channel,
            t.Assignment.released_at.is_not(None),
            t.Assignment.released_at >= now - LOOK_BACK,
        )
        .order_by(t.Assignment.released_at.desc())
        .limit(SAMPLE_SIZE)
    )
    return [released - assigned for assigned, released in rows if released is not None]


async def queue_position(
    session: AsyncSession, principal: Principal, conversation_id: int, now: Any
) -> dict[str, Any]:
    """Place among the waiting unassigned conversations of the same team (or of the workspace
    without a team), in queue order, and the estimated wait from the recent handling times of
    the conversation's channel (None when there is too little history to say,
    domain/routing/wait_estimate.py)."""
    conversation = await get_visible_conversation(session, principal, conversation_id)
    return (await queue_positions(session, principal.workspace_id, [conversation], now))[
        conversation.id
    ]


async def queue_positions(
    session: AsyncSession, workspace_id: int, conversations: list[t.Conversation], now: Any
) -> dict[int, dict[str, Any]]:
    """`queue_position` for many conversations at once (the supervisors' queue page): each
    team's queue and online agents, and each channel's handling times, are read once."""
    queues: dict[int | None, list[int]] = {}
    online: dict[int | None, int] = {}
    handling: dict[str, list[timedelta]] = {}
    places: dict[int, dict[str, Any]] = {}
    for conversation in conversations:
        result: dict[str, Any] = {
            "conversation_id": conversation.id,
            "waiting": False,
            "position": None,
            "queue_length": None,
            "estimated_wait_seconds": None,
            "assignee_id": conversation.assignee_id,
        }
        places[conversation.id] = result
        if (
            conversation.assignee_id is not None
            or conversation.status != ConversationStatus.OPEN.value
            or conversation.last_inbound_channel is None
        ):
            continue
        team = conversation.team_id
        if team not in queues:
            waiting = await waiting_work(session, workspace_id, same_team_as=conversation)
            queues[team] = [w.conversation_id for w in queue_order(waiting, now, QueuePolicy())]
            agents = online_agents(workspace_id, team).subquery()
            online[team] = int(
                (await session.execute(select(func.count()).select_from(agents))).scalar_one()
            )
        channel = conversation.last_inbound_channel
        if channel not in handling:
            handling[channel] = await recent_handling_times(session, workspace_id, channel, now)
        ids = queues[team]
        position = ids.index(conversation.id) + 1 if conversation.id in ids else len(ids) + 1
        estimate = estimate_wait(Channel(channel), position, online[team], handling[channel])
        result.update(
            waiting=True,
            position=position,
            queue_length=max(len(ids), position),
            estimated_wait_seconds=(
                round(estimate.wait.total_seconds()) if estimate.wait is not None else None
            ),
            typical_handling_seconds=(
                round(estimate.typical_handling.total_seconds())
                if estimate.typical_handling is not None
                else None
            ),
            handling_samples=estimate.samples,
            agents_online=online[team],
        )
    return places


def queue_policy_view() -> dict[str, Any]:
    """The queue order's rules, fixed for now (the same for every workspace): how waiting
    work climbs in priority, and which channels go first at the same priority."""
    policy = QueuePolicy()
    return {
        "aging_minutes": (
            policy.aging_step.total_seconds() / 60 if policy.aging_step is not None else None
        ),
        "max_aging_steps": policy.max_aging_steps,
        "channel_boost": {channel.value: boost for channel, boost in policy.channel_boost.items()},
    }
