"""Writing moved SLA deadlines and their timers in bulk, the fastest way each database has.

A calendar may carry many thousands of open conversations, so a change to it is written in
a few statements, never a round trip per clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, text, update

from threadline.adapters.db import tables as t
from threadline.adapters.db.types import UTCDateTime
from threadline.core.timers import ARMED
from threadline.core.unit_of_work import UnitOfWork

# (clock id, new deadline)
MovedDeadline = tuple[int, datetime]
# (timer key, fire at): the key as clocks/timers.py spells it
MovedTimer = tuple[str, datetime]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


async def write_deadlines_postgres(
    uow: UnitOfWork,
    workspace_id: int,
    moved: list[MovedDeadline],
    timers: list[MovedTimer],
) -> None:
    # One statement for the clocks and one for their timers, the new values as arrays (clock
    # ids or timer keys, epoch microseconds): a round trip per row, or dumping datetimes one
    # by one, would dominate the time for a calendar with many open conversations.
    if moved:
        await uow.session.execute(
            text(
                "UPDATE sla_clocks SET due_at = timestamptz 'epoch' + v.us * interval '1 microsecond' "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:us AS bigint[])) AS v(id, us) "
                "WHERE sla_clocks.id = v.id AND sla_clocks.stopped_at IS NULL"
            ),
            {"ids": [m[0] for m in moved], "us": [_micros(m[1]) for m in moved]},
        )
    if timers:
        await uow.session.execute(
            text(
                "UPDATE timers SET fire_at = timestamptz 'epoch' + v.us * interval '1 microsecond', "
                "locked_until = NULL "
                "FROM unnest(CAST(:keys AS text[]), CAST(:us AS bigint[])) AS v(key, us) "
                "WHERE timers.workspace_id = :ws AND timers.status = :armed "
                "AND timers.key = v.key"
            ),
            {
                "keys": [key for key, _ in timers],
                "us": [_micros(fire) for _, fire in timers],
                "ws": workspace_id,
                "armed": ARMED,
            },
        )


async def write_deadlines_executemany(
    uow: UnitOfWork,
    workspace_id: int,
    moved: list[MovedDeadline],
    timers: list[MovedTimer],
) -> None:
    # Core tables, not the mapped classes: a list of parameters then means a plain executemany.
    clocks_table = cast(Table, t.SlaClock.__table__)
    timers_table = cast(Table, t.Timer.__table__)
    if moved:
        await uow.session.execute(
            update(clocks_table)
            .where(clocks_table.c.id == bindparam("b_id"), clocks_table.c.stopped_at.is_(None))
            .values(due_at=bindparam("b_due", type_=UTCDateTime())),
            [{"b_id": clock_id, "b_due": due} for clock_id, due in moved],
        )
    if timers:
        await uow.session.execute(
            update(timers_table)
            .where(
                timers_table.c.workspace_id == workspace_id,
                timers_table.c.key == bindparam("b_key"),
                timers_table.c.status == ARMED,
            )
            .values(fire_at=bindparam("b_fire", type_=UTCDateTime()), locked_until=None),
            [{"b_key": key, "b_fire": fire} for key, fire in timers],
        )
