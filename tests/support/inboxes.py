"""Setting an inbox's columns directly, as an admin's earlier set-up would have left them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime


async def set_inbox(session: AsyncSession, inbox_id: int, **values: Any) -> None:
    """Give the inbox these column values (address, settings, secret, …) in `session`."""
    await session.execute(update(t.Inbox).where(t.Inbox.id == inbox_id).values(**values))


def local_relay(port: int) -> dict[str, Any]:
    """An email inbox's settings for sending through an SMTP relay on 127.0.0.1 without TLS."""
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "starttls": False,
        "display_name": "Acme Support",
    }


async def mail_through_local_relay(
    runtime: Runtime, inbox_id: int, address: str, relay_port: int
) -> None:
    """The set-up an admin did earlier: the email inbox has an address and its own relay."""
    async with runtime.sessionmaker() as session:
        await set_inbox(session, inbox_id, address=address, settings=local_relay(relay_port))
        await session.commit()
