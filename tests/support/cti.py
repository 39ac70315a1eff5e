"""What a phone call leaves behind, read back for the telephony tests (Twilio voice and the
generic CTI endpoint): its call entries and the callback tasks it planned."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime


async def calls(runtime: Runtime) -> list[t.Message]:
    """Every call entry (a voice-channel message)."""
    async with runtime.sessionmaker() as session:
        rows = await session.execute(select(t.Message).where(t.Message.channel == "voice"))
        return list(rows.scalars())


async def tasks(runtime: Runtime) -> list[t.Task]:
    async with runtime.sessionmaker() as session:
        return list((await session.execute(select(t.Task))).scalars())


def due_after(task: t.Task, now: datetime) -> timedelta:
    """How long after `now` the task is due. SQLite hands datetimes back without their zone,
    so both sides are compared as naive UTC."""
    return task.due_at.replace(tzinfo=None) - now.replace(tzinfo=None)
