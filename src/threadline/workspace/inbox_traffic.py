"""What each inbox last did, for the console's channel list: when the latest message came in,
and how the latest reply out fared ("last send failed: 401 from Twilio")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.domain.conversations import Direction
from threadline.domain.security.access import Principal, Role, require_role


@dataclass(frozen=True, slots=True)
class InboxTraffic:
    last_in_at: datetime | None = None
    last_out_at: datetime | None = None
    # pending | sending | unconfirmed | done | failed (delivery's job states)
    last_out_status: str | None = None
    last_out_error: str | None = None


async def traffic_of(session: AsyncSession, principal: Principal) -> dict[int, InboxTraffic]:
    """By inbox id, for every inbox of the workspace (two index reads per inbox)."""
    require_role(principal, Role.ADMIN)
    inbox_ids = (
        await session.execute(
            select(t.Inbox.id).where(t.Inbox.workspace_id == principal.workspace_id)
        )
    ).scalars()
    return {inbox_id: await _traffic(session, inbox_id) for inbox_id in list(inbox_ids)}


def _latest(inbox_id: int, direction: Direction) -> Select[int, datetime]:
    return (
        select(t.Message.id, t.Message.created_at)
        .where(t.Message.inbox_id == inbox_id, t.Message.direction == direction.value)
        .order_by(t.Message.created_at.desc())
        .limit(1)
    )


async def _traffic(session: AsyncSession, inbox_id: int) -> InboxTraffic:
    inbound = (await session.execute(_latest(inbox_id, Direction.INBOUND))).first()
    outbound = (await session.execute(_latest(inbox_id, Direction.OUTBOUND))).first()
    job = None
    if outbound is not None:
        job = (
            await session.execute(
                select(t.OutboundJob.status, t.OutboundJob.last_error)
                .where(t.OutboundJob.message_id == outbound.id)
                .order_by(t.OutboundJob.id.desc())
                .limit(1)
            )
        ).first()
    return InboxTraffic(
        last_in_at=inbound.created_at if inbound else None,
        last_out_at=outbound.created_at if outbound else None,
        last_out_status=job.status if job else None,
        last_out_error=job.last_error if job else None,
    )
