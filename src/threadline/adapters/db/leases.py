"""Leases on work rows (outbound jobs, timers): a worker claims a row by setting its
`locked_until`, and may act on it only while that lease is still the row's current one."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db.tables import OutboundJob, Timer

LeasedRow = TypeVar("LeasedRow", OutboundJob, Timer)


def still_leased(
    model: type[LeasedRow], row_id: int, status: str, locked_until: datetime | None
) -> ColumnElement[bool]:
    """The row is still in `status` under the lease we took: nobody has taken it over,
    re-scheduled or settled it since."""
    return and_(model.id == row_id, model.status == status, model.locked_until == locked_until)


async def lock_if_still_leased(
    session: AsyncSession,
    model: type[LeasedRow],
    row_id: int,
    status: str,
    locked_until: datetime | None,
) -> LeasedRow | None:
    """The row, locked for update, only while our lease on it holds."""
    return (
        await session.execute(
            select(model).where(still_leased(model, row_id, status, locked_until)).with_for_update()
        )
    ).scalar_one_or_none()
