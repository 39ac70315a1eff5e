"""Agents creating and editing customer profiles by hand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_scoped, get_workspace
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import customer_view
from threadline.customers.identities import find_customer_by_identity, identities_of, new_identity
from threadline.domain.channels import IdentityKind
from threadline.domain.customers.identities import IdentityKey, normalise_identity
from threadline.domain.errors import Conflict, DomainError
from threadline.domain.events import CustomerCreated, CustomerUpdated
from threadline.domain.security.access import Principal

MAX_CUSTOMER_LABELS = 50
MAX_LABEL_LENGTH = 100


@dataclass(frozen=True, slots=True)
class CustomerWithIdentities:
    customer: t.Customer
    identities: list[t.Identity]


async def create_customer(
    uow: UnitOfWork,
    principal: Principal,
    name: str | None,
    identities: list[tuple[IdentityKind, str]],
) -> CustomerWithIdentities:
    """A new customer with the given addresses; an address someone already has is a 409."""
    session = uow.session
    ws = principal.workspace_id
    workspace = await get_workspace(session, ws)
    name = (name or "").strip() or None
    keys: list[IdentityKey] = []
    for kind, raw in identities:
        key = normalise_identity(kind, raw, workspace.default_region)
        if key not in keys:
            keys.append(key)
    if name is None and not keys:
        raise DomainError("a customer needs a name or at least one identity")
    for key in keys:
        owner = await find_customer_by_identity(session, ws, key)
        if owner is not None:
            raise _taken(key, owner.id)
    now = uow.clock.now()
    customer = t.Customer(
        workspace_id=ws, name=name, attributes={}, labels=[], created_at=now, updated_at=now
    )
    session.add(customer)
    await session.flush()
    rows = [new_identity(customer, key, now) for key in keys]
    session.add_all(rows)
    # Another request may have stored one of these addresses a moment ago.
    await uow.flush_or_conflict("one of these identities was just given to another customer")
    uow.emit(ws, CustomerCreated(customer_view(customer, rows)))
    return CustomerWithIdentities(customer, rows)


async def add_identity(
    uow: UnitOfWork, principal: Principal, customer_id: int, kind: IdentityKind, raw: str
) -> CustomerWithIdentities:
    """An address the customer gave an agent (an email dictated on the phone), so replies can
    go by that channel. An address another customer owns is a 409: joining two people is a
    merge, which is audited and can be undone."""
    session = uow.session
    ws = principal.workspace_id
    workspace = await get_workspace(session, ws)
    customer = await get_scoped(session, t.Customer, ws, customer_id, lock=True)
    if customer.merged_into_id is not None:
        raise Conflict(f"customer {customer_id} was merged into {customer.merged_into_id}")
    key = normalise_identity(kind, raw, workspace.default_region)
    owner = await find_customer_by_identity(session, ws, key)
    if owner is not None and owner.id != customer.id:
        raise _taken(key, owner.id)
    now = uow.clock.now()
    if owner is None:
        session.add(new_identity(customer, key, now))
        customer.updated_at = now
        await uow.flush_or_conflict(
            f"{key.kind.value} {key.value} was just given to another customer"
        )
    identities = await identities_of(session, ws, customer.id)
    uow.emit(ws, CustomerUpdated(customer_view(customer, identities)))
    return CustomerWithIdentities(customer, identities)


def _taken(key: IdentityKey, owner_id: int) -> Conflict:
    return Conflict(f"{key.kind.value} {key.value} already belongs to customer {owner_id}")


async def update_customer(
    uow: UnitOfWork,
    principal: Principal,
    customer_id: int,
    changes: dict[str, Any],
) -> CustomerWithIdentities:
    """Apply the fields present in `changes`: name, attributes (merged: a null value removes
    the key) and labels (replaced)."""
    session = uow.session
    ws = principal.workspace_id
    customer = await get_scoped(session, t.Customer, ws, customer_id, lock=True)
    if "name" in changes:
        customer.name = (changes["name"] or "").strip() or None
    if "attributes" in changes:
        merged = dict(customer.attributes)
        for key, value in (changes["attributes"] or {}).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        customer.attributes = merged
    if "labels" in changes:
        customer.labels = _clean_labels(changes["labels"] or [])
    customer.updated_at = uow.clock.now()
    await session.flush()
    identities = await identities_of(session, ws, customer.id)
    uow.emit(ws, CustomerUpdated(customer_view(customer, identities)))
    return CustomerWithIdentities(customer, identities)


def _clean_labels(labels: list[str]) -> list[str]:
    cleaned: list[str] = []
    for label in labels:
        label = label.strip()
        if not label or label in cleaned:
            continue
        if len(label) > MAX_LABEL_LENGTH:
            raise DomainError(f"a label is limited to {MAX_LABEL_LENGTH} characters")
        cleaned.append(label)
    if len(cleaned) > MAX_CUSTOMER_LABELS:
        raise DomainError(f"a customer can have at most {MAX_CUSTOMER_LABELS} labels")
    return cleaned
