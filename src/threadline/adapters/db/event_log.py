"""Appending domain events to the `events` table, numbered per workspace in commit order.

The number comes from the workspace row (`event_seq`), whose lock is held until COMMIT: so a
reader that has seen number N has seen every event numbered below N. Every transaction of a
workspace that emits events queues on that lock, so how long it is held bounds how many such
transactions a workspace commits per second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import insert, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db.storable import dump_json
from threadline.adapters.db.tables import Event, Workspace
from threadline.domain.events import WireEvent


def numbered_rows(
    workspace_id: int, first_seq: int, events: Sequence[WireEvent], created_at: object
) -> list[dict[str, Any]]:
    """The events as rows of the table, numbered from `first_seq` (also the envelopes that
    are published, with `created_at` as text)."""
    return [
        {
            "workspace_id": workspace_id,
            "seq": first_seq + offset,
            "type": event.type,
            "audience": event.audience,
            "conversation_id": event.conversation_id,
            "payload": event.payload,
            "created_at": created_at,
        }
        for offset, event in enumerate(events)
    ]


async def append(
    session: AsyncSession, workspace_id: int, events: Sequence[WireEvent], now: datetime
) -> int:
    """Number the events and insert them (the caller commits); returns the first number.
    For SQLite, which runs one writing transaction at a time anyway."""
    last = (
        await session.execute(
            update(Workspace)
            .where(Workspace.id == workspace_id)
            .values(event_seq=Workspace.event_seq + len(events))
            .returning(Workspace.event_seq)
        )
    ).scalar_one()
    first = int(last) - len(events) + 1
    await session.execute(insert(Event), numbered_rows(workspace_id, first, events, now))
    return first


# One statement per workspace: take the numbers (and the row lock), insert the events. The
# lists go in binary (%b): as text, every JSON payload would be escaped for an array literal.
_NUMBER_AND_INSERT = """
    WITH numbered AS (
        UPDATE workspaces SET event_seq = event_seq + %(count)s::integer
        WHERE id = %(workspace_id)s::bigint
        RETURNING event_seq
    )
    INSERT INTO events (workspace_id, seq, type, audience, conversation_id, payload, created_at)
    SELECT %(workspace_id)s::bigint, numbered.event_seq - %(count)s::integer + item.n,
           item.type, item.audience, item.conversation_id, CAST(item.payload AS JSONB),
           %(created_at)s::timestamptz
    FROM numbered,
         unnest(%(types)b::text[], %(audiences)b::text[], %(conversation_ids)b::bigint[],
                %(payloads)b::text[])
             WITH ORDINALITY AS item(type, audience, conversation_id, payload, n)
    RETURNING seq
"""


async def append_and_commit(
    session: AsyncSession, by_workspace: Mapping[int, Sequence[WireEvent]], now: datetime
) -> dict[int, int]:
    """PostgreSQL: number and insert the events, and COMMIT, in one round trip (a psycopg
    pipeline), so the workspace row lock is held only while the server runs them, not while
    this process, busy with other requests, gets round to sending COMMIT. Returns each
    workspace's first number. The session's pending changes are flushed first; the session's
    own commit afterwards finds nothing left to do."""
    await session.flush()
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert isinstance(driver, psycopg.AsyncConnection)
    cursors: list[tuple[int, psycopg.AsyncCursor[Any]]] = []
    try:
        async with driver.pipeline():
            # Sorted: two transactions writing to several workspaces lock them in one order.
            for workspace_id in sorted(by_workspace):
                events = by_workspace[workspace_id]
                cursor = driver.cursor()
                await cursor.execute(
                    _NUMBER_AND_INSERT,
                    {
                        "count": len(events),
                        "workspace_id": workspace_id,
                        "created_at": now,
                        "types": [event.type for event in events],
                        "audiences": [event.audience for event in events],
                        "conversation_ids": [event.conversation_id for event in events],
                        # Past SQLAlchemy: made storable here as its serialiser would.
                        "payloads": [dump_json(event.payload) for event in events],
                    },
                )
                cursors.append((workspace_id, cursor))
            await driver.commit()
        return {
            workspace_id: min(seq for (seq,) in await cursor.fetchall())
            for workspace_id, cursor in cursors
        }
    except psycopg.Error as exc:
        # Raised as SQLAlchemy raises driver errors, so callers (deadlock retries) see one kind.
        raise DBAPIError.instance(_NUMBER_AND_INSERT, None, exc, psycopg.Error) from exc
