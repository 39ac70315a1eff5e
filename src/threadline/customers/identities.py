"""A customer's identities (addresses): read, owned and added one way everywhere."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.domain.customers.identities import IdentityKey


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


async def find_customer_by_identity(
    session: AsyncSession, workspace_id: int, key: IdentityKey
) -> t.Customer | None:
    """The customer who owns this address in the workspace, if anyone does."""
    return (
        await session.execute(
            select(t.Customer)
            .join(t.Identity, t.Identity.customer_id == t.Customer.id)
            .where(
                t.Identity.workspace_id == workspace_id,
                t.Identity.kind == key.kind.value,
                t.Identity.value == key.value,
            )
        )
    ).scalar_one_or_none()


def new_identity(customer: t.Customer, key: IdentityKey, now: datetime) -> t.Identity:
    """The row that gives `customer` this address (not added to the session)."""
    return t.Identity(
        workspace_id=customer.workspace_id,
        customer_id=customer.id,
        kind=key.kind.value,
        value=key.value,
        created_at=now,
    )
