"""Customers' names by id, for lists that show many conversations at once."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.domain.security.access import Principal


async def customer_names(
    session: AsyncSession, principal: Principal, customer_ids: Iterable[int]
) -> dict[int, str | None]:
    """The names of these customers of the caller's workspace, in one query."""
    rows = await session.execute(
        select(t.Customer.id, t.Customer.name).where(
            t.Customer.workspace_id == principal.workspace_id,
            t.Customer.id.in_(list(customer_ids)),
        )
    )
    return {customer_id: name for customer_id, name in rows}
