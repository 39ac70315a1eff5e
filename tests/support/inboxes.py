"""Setting an inbox's columns directly, as an admin's earlier set-up would have left them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t


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
