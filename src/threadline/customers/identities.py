"""A customer's identities (addresses), read one way everywhere."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t


async def identities_of(
    session: AsyncSession, workspace_id: int, customer_id: int, *, newest_first: bool = False
) -> list[t.Identity]:
    """The customer's identities in the order they were added (as the profile lists them), or
    newest first (a reply goes to the newest address of its channel)."""
    order = (
        (t.Identity.created_at.desc(), t.Identity.id.desc()) if newest_first else (t.Identity.id,)
    )
    rows = await session.execute(
        select(t.Identity)
        .where(t.Identity.workspace_id == workspace_id, t.Identity.customer_id == customer_id)
        .order_by(*order)
    )
    return list(rows.scalars())


async def identities_by_customer(
    session: AsyncSession, workspace_id: int, customer_ids: list[int]
) -> dict[int, list[t.Identity]]:
    """Several customers' identities in one query, each list in the order they were added."""
    if not customer_ids:
        return {}
    rows = await session.execute(
        select(t.Identity)
        .where(t.Identity.workspace_id == workspace_id, t.Identity.customer_id.in_(customer_ids))
        .order_by(t.Identity.id)
    )
    grouped: dict[int, list[t.Identity]] = {}
    for identity in rows.scalars():
        grouped.setdefault(identity.customer_id, []).append(identity)
    return grouped
