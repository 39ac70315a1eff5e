"""Continuity rule 1: find the customer behind an address, creating both when unknown."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import customer_view
from threadline.customers.identities import find_customer_by_identity, new_identity
from threadline.domain.customers.identities import IdentityKey
from threadline.domain.events import CustomerCreated


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
    found = await _first_owner(session, workspace_id, [primary, *others])
    customer = await _found_or_new(session, workspace_id, found, name, now)
    created = found is None
    known = await _known_addresses(session, workspace_id, primary, others, created)
    _attach_unknown(session, customer, [primary, *others], known, now)
    await session.flush()
    if created:
        uow.emit(workspace_id, CustomerCreated(customer_view(customer)))
    return customer, created


async def _first_owner(
    session: AsyncSession, workspace_id: int, keys: list[IdentityKey]
) -> t.Customer | None:
    """The owner of the first of `keys` someone owns, looked up one by one in order."""
    for key in keys:
        customer = await find_customer_by_identity(session, workspace_id, key)
        if customer is not None:
            return customer
    return None


async def _found_or_new(
    session: AsyncSession,
    workspace_id: int,
    found: t.Customer | None,
    name: str | None,
    now: datetime,
) -> t.Customer:
    """The customer found (given the name if they had none), or a new one, stored."""
    if found is not None:
        if name and not found.name:
            found.name = name
            found.updated_at = now
        return found
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
    return customer


async def _known_addresses(
    session: AsyncSession,
    workspace_id: int,
    primary: IdentityKey,
    others: list[IdentityKey],
    created: bool,
) -> set[tuple[str, str]]:
    """Which of the given addresses (kind, value) somebody already owns."""
    if created:
        # A customer made just now owns none of these addresses yet.
        return set()
    if not others:
        # Found by the only address given: nothing to attach.
        return {(primary.kind.value, primary.value)}
    keys = [primary, *others]
    owned = await session.execute(
        select(t.Identity).where(
            t.Identity.workspace_id == workspace_id,
            t.Identity.kind.in_([k.kind.value for k in keys]),
            t.Identity.value.in_([k.value for k in keys]),
        )
    )
    return {(i.kind, i.value) for i in owned.scalars()}


def _attach_unknown(
    session: AsyncSession,
    customer: t.Customer,
    keys: list[IdentityKey],
    known: set[tuple[str, str]],
    now: datetime,
) -> None:
    """Each address nobody owns yet becomes the customer's (a repeated one only once)."""
    for key in keys:
        if (key.kind.value, key.value) not in known:
            session.add(new_identity(customer, key, now))
            known.add((key.kind.value, key.value))
