"""Continuity rule 1: find the customer behind an address, creating both when unknown."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import customer_view
from threadline.domain.customers.identities import IdentityKey
from threadline.domain.events import CustomerCreated


async def find_customer_by_identity(
    session: AsyncSession, workspace_id: int, key: IdentityKey
) -> t.Customer | None:
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


async def resolve_customer(
    uow: UnitOfWork,
    workspace_id: int,
    primary: IdentityKey,
    others: list[IdentityKey],
    name: str | None,
) -> tuple[t.Customer, bool]:
    """The customer owning `primary`; else the one owning another given address; else new.

    Addresses not yet known are attached to the customer found. An address already owned by
    a different customer is left where it is: joining two people is a merge, done by an agent.
    """
    session = uow.session
    now = uow.clock.now()
    customer = await find_customer_by_identity(session, workspace_id, primary)
    for other in others:
        if customer is not None:
            break
        customer = await find_customer_by_identity(session, workspace_id, other)
    created = customer is None
    if customer is None:
        customer = t.Customer(
            workspace_id=workspace_id,
            name=name,
            attributes={},
            labels=[],
            created_at=now,
            updated_at=now,
        )
        session.add(customer)
        await session.flush()
    elif name and not customer.name:
        customer.name = name
        customer.updated_at = now
    if created:
        # A customer made just now owns none of these addresses yet.
        known: set[tuple[str, str]] = set()
    elif not others:
        # Found by the only address given: nothing to attach.
        known = {(primary.kind.value, primary.value)}
    else:
        known = {
            (i.kind, i.value)
            for i in (
                await session.execute(
                    select(t.Identity).where(
                        t.Identity.workspace_id == workspace_id,
                        t.Identity.kind.in_([k.kind.value for k in [primary, *others]]),
                        t.Identity.value.in_([k.value for k in [primary, *others]]),
                    )
                )
            ).scalars()
        }
    for key in [primary, *others]:
        if (key.kind.value, key.value) not in known:
            session.add(
                t.Identity(
                    workspace_id=workspace_id,
                    customer_id=customer.id,
                    kind=key.kind.value,
                    value=key.value,
                    created_at=now,
                )
            )
            known.add((key.kind.value, key.value))
    await session.flush()
    if created:
        uow.emit(workspace_id, CustomerCreated(customer_view(customer)))
    return customer, created
