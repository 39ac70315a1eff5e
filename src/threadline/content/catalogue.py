"""The product catalogue (products and how they relate) and customers' orders.

Admins manage products and relations; orders come from admins or from an integration's
workspace API key (the shop posts them); every agent reads both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import delete_scoped, get_scoped
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import iso
from threadline.domain.content.catalogue import (
    InvalidProduct,
    OrderStatus,
    RelationKind,
    normalise_sku,
)
from threadline.domain.customers.offers import InvalidOffer, parse_currency, parse_price
from threadline.domain.errors import Conflict, DomainError, Forbidden
from threadline.domain.events import OrderRecorded, OrderUpdated
from threadline.domain.security.access import Principal, Role, require_role

MAX_PRODUCT_NAME_LENGTH = 300
MAX_ORDER_NUMBER_LENGTH = 100
MAX_ORDER_ITEMS = 200
MAX_QUANTITY = 100_000


@dataclass(frozen=True, slots=True)
class ProductFields:
    sku: str
    name: str
    price: str
    currency: str
    description: str = ""
    active: bool = True
    in_stock: bool = True


PRODUCT_FIELDS = frozenset(f.name for f in fields(ProductFields))


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class NewOrder:
    number: str
    status: OrderStatus
    placed_at: datetime
    items: tuple[OrderLine, ...]


def product_view(p: t.Product, relations: dict[str, list[str]] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": p.id,
        "sku": p.sku,
        "name": p.name,
        "price": p.price,
        "currency": p.currency,
        "description": p.description,
        "active": p.active,
        "in_stock": p.in_stock,
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
    }
    if relations is not None:
        view["complementary"] = relations.get(RelationKind.COMPLEMENTARY.value, [])
        view["substitute"] = relations.get(RelationKind.SUBSTITUTE.value, [])
    return view


def order_view(
    order: t.Order, items: Sequence[t.OrderItem], names: dict[str, str] | None = None
) -> dict[str, Any]:
    names = names or {}
    return {
        "id": order.id,
        "customer_id": order.customer_id,
        "number": order.number,
        "status": order.status,
        "placed_at": iso(order.placed_at),
        "items": [{"sku": i.sku, "quantity": i.quantity, "name": names.get(i.sku)} for i in items],
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
    }


def require_order_writer(principal: Principal) -> None:
    """Orders come from the shop (an API key) or are corrected by an admin."""
    if principal.role not in (Role.ADMIN, Role.INTEGRATION):
        raise Forbidden("recording orders needs the admin role or a workspace API key")


# --- products ---


async def list_products(
    session: AsyncSession,
    principal: Principal,
    query: str | None = None,
    active: bool | None = None,
) -> list[t.Product]:
    stmt = select(t.Product).where(t.Product.workspace_id == principal.workspace_id)
    if query and query.strip():
        pattern = f"%{query.strip().lower()}%"
        stmt = stmt.where(or_(t.Product.sku.ilike(pattern), t.Product.name.ilike(pattern)))
    if active is not None:
        stmt = stmt.where(t.Product.active.is_(active))
    return list((await session.execute(stmt.order_by(t.Product.sku))).scalars())


async def product_relations(
    session: AsyncSession, workspace_id: int, product_ids: Sequence[int]
) -> dict[int, dict[str, list[str]]]:
    """product id -> relation kind -> related SKUs."""
    if not product_ids:
        return {}
    rows = await session.execute(
        select(t.ProductRelation.product_id, t.ProductRelation.kind, t.Product.sku)
        .join(t.Product, t.Product.id == t.ProductRelation.related_id)
        .where(
            t.ProductRelation.workspace_id == workspace_id,
            t.ProductRelation.product_id.in_(product_ids),
        )
        .order_by(t.Product.sku)
    )
    found: dict[int, dict[str, list[str]]] = {pid: {} for pid in product_ids}
    for product_id, kind, sku in rows:
        found[product_id].setdefault(kind, []).append(sku)
    return found


async def product_detail(
    session: AsyncSession, workspace_id: int, row: t.Product
) -> dict[str, Any]:
    """The product's view with its related SKUs."""
    relations = await product_relations(session, workspace_id, [row.id])
    return product_view(row, relations[row.id])


async def get_product_detail(
    session: AsyncSession, principal: Principal, product_id: int
) -> dict[str, Any]:
    """One product of the caller's workspace with its related SKUs."""
    row = await get_scoped(session, t.Product, principal.workspace_id, product_id)
    return await product_detail(session, principal.workspace_id, row)


def _checked_product(fields: ProductFields) -> ProductFields:
    name = fields.name.strip()
    if not name or len(name) > MAX_PRODUCT_NAME_LENGTH:
        raise InvalidProduct(f"a product needs a name of 1-{MAX_PRODUCT_NAME_LENGTH} characters")
    try:
        price, currency = parse_price(fields.price), parse_currency(fields.currency)
    except InvalidOffer as exc:
        raise InvalidProduct(exc.reason) from exc
    return ProductFields(
        sku=normalise_sku(fields.sku),
        name=name,
        price=price,
        currency=currency,
        description=fields.description.strip(),
        active=fields.active,
        in_stock=fields.in_stock,
    )


async def create_product(uow: UnitOfWork, principal: Principal, fields: ProductFields) -> t.Product:
    require_role(principal, Role.ADMIN)
    checked = _checked_product(fields)
    now = uow.clock.now()
    return await uow.add_or_conflict(
        t.Product(
            workspace_id=principal.workspace_id,
            sku=checked.sku,
            name=checked.name,
            price=checked.price,
            currency=checked.currency,
            description=checked.description,
            active=checked.active,
            in_stock=checked.in_stock,
            created_at=now,
            updated_at=now,
        ),
        f"a product with SKU {checked.sku!r} exists already",
    )


async def update_product(
    uow: UnitOfWork, principal: Principal, product_id: int, changes: dict[str, Any]
) -> t.Product:
    """Changes any of sku, name, price, currency, description, active, in_stock."""
    row = await get_scoped(uow.session, t.Product, principal.workspace_id, product_id)
    require_role(principal, Role.ADMIN)
    current = ProductFields(
        row.sku, row.name, row.price, row.currency, row.description, row.active, row.in_stock
    )
    unknown = sorted(set(changes) - PRODUCT_FIELDS)
    if unknown:
        raise DomainError(f"unknown product field(s): {', '.join(unknown)}")
    checked = _checked_product(replace(current, **changes))
    for name in PRODUCT_FIELDS:
        setattr(row, name, getattr(checked, name))
    row.updated_at = uow.clock.now()
    await uow.flush_or_conflict(f"a product with SKU {checked.sku!r} exists already")
    return row


async def set_relations(
    uow: UnitOfWork,
    principal: Principal,
    product_id: int,
    complementary: Sequence[str],
    substitute: Sequence[str],
) -> dict[str, Any]:
    """Replace the product's relations by these SKUs; unknown SKUs are refused, by name.
    Returns the product's view with its new relations."""
    product = await get_scoped(uow.session, t.Product, principal.workspace_id, product_id)
    require_role(principal, Role.ADMIN)
    wanted = {
        RelationKind.COMPLEMENTARY: [normalise_sku(s) for s in complementary],
        RelationKind.SUBSTITUTE: [normalise_sku(s) for s in substitute],
    }
    all_skus = {sku for skus in wanted.values() for sku in skus}
    if product.sku in all_skus:
        raise DomainError(f"product {product.sku} cannot be related to itself")
    rows = await uow.session.execute(
        select(t.Product.sku, t.Product.id).where(
            t.Product.workspace_id == principal.workspace_id, t.Product.sku.in_(all_skus)
        )
    )
    known = {sku: pid for sku, pid in rows}
    unknown = sorted(all_skus - known.keys())
    if unknown:
        raise DomainError(f"unknown SKU(s) in the catalogue: {', '.join(unknown)}")
    await uow.session.execute(
        delete(t.ProductRelation).where(
            t.ProductRelation.workspace_id == principal.workspace_id,
            t.ProductRelation.product_id == product.id,
        )
    )
    for kind, skus in wanted.items():
        for sku in dict.fromkeys(skus):
            uow.session.add(
                t.ProductRelation(
                    workspace_id=principal.workspace_id,
                    product_id=product.id,
                    related_id=known[sku],
                    kind=kind.value,
                )
            )
    await uow.session.flush()
    return product_view(
        product, {kind.value: sorted(dict.fromkeys(skus)) for kind, skus in wanted.items()}
    )


async def delete_product(uow: UnitOfWork, principal: Principal, product_id: int) -> None:
    await delete_scoped(uow.session, principal, t.Product, product_id, Role.ADMIN)


# --- orders ---


async def _product_names(
    session: AsyncSession, workspace_id: int, skus: Sequence[str]
) -> dict[str, str]:
    if not skus:
        return {}
    rows = await session.execute(
        select(t.Product.sku, t.Product.name).where(
            t.Product.workspace_id == workspace_id, t.Product.sku.in_(set(skus))
        )
    )
    return {sku: name for sku, name in rows}


async def _items_of(
    session: AsyncSession, order_ids: Sequence[int]
) -> dict[int, list[t.OrderItem]]:
    found: dict[int, list[t.OrderItem]] = {oid: [] for oid in order_ids}
    if order_ids:
        rows = await session.execute(
            select(t.OrderItem).where(t.OrderItem.order_id.in_(order_ids)).order_by(t.OrderItem.id)
        )
        for item in rows.scalars():
            found[item.order_id].append(item)
    return found


async def customer_orders(
    session: AsyncSession, principal: Principal, customer_id: int
) -> list[dict[str, Any]]:
    """The customer's orders, newest first, each with its items (and product names)."""
    await get_scoped(session, t.Customer, principal.workspace_id, customer_id)
    orders = list(
        (
            await session.execute(
                select(t.Order)
                .where(
                    t.Order.workspace_id == principal.workspace_id,
                    t.Order.customer_id == customer_id,
                )
                .order_by(t.Order.placed_at.desc(), t.Order.id.desc())
            )
        ).scalars()
    )
    items = await _items_of(session, [o.id for o in orders])
    names = await _product_names(
        session, principal.workspace_id, [i.sku for rows in items.values() for i in rows]
    )
    return [order_view(o, items[o.id], names) for o in orders]


async def record_order(
    uow: UnitOfWork, principal: Principal, customer_id: int, order: NewOrder
) -> dict[str, Any]:
    session = uow.session
    # Locked as a merge locks it, so an order cannot land on a customer being merged away.
    customer = await get_scoped(session, t.Customer, principal.workspace_id, customer_id, lock=True)
    require_order_writer(principal)
    if customer.merged_into_id is not None:
        raise Conflict(f"customer {customer_id} was merged into {customer.merged_into_id}")
    number = order.number.strip()
    if not number or len(number) > MAX_ORDER_NUMBER_LENGTH:
        raise DomainError(f"an order needs a number of 1-{MAX_ORDER_NUMBER_LENGTH} characters")
    if not order.items or len(order.items) > MAX_ORDER_ITEMS:
        raise DomainError(f"an order needs 1-{MAX_ORDER_ITEMS} items")
    lines = []
    for line in order.items:
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise DomainError(f"quantity of {line.sku} must be between 1 and {MAX_QUANTITY}")
        lines.append(OrderLine(normalise_sku(line.sku), line.quantity))
    now = uow.clock.now()
    row = t.Order(
        workspace_id=principal.workspace_id,
        customer_id=customer.id,
        number=number,
        status=order.status.value,
        placed_at=order.placed_at,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await uow.flush_or_conflict(f"order {number!r} is recorded already; PATCH its status instead")
    items = [
        t.OrderItem(
            workspace_id=principal.workspace_id,
            order_id=row.id,
            sku=line.sku,
            quantity=line.quantity,
        )
        for line in lines
    ]
    session.add_all(items)
    await session.flush()
    names = await _product_names(session, principal.workspace_id, [i.sku for i in items])
    view = order_view(row, items, names)
    uow.emit(principal.workspace_id, OrderRecorded(view))
    return view


async def change_order_status(
    uow: UnitOfWork, principal: Principal, order_id: int, status: OrderStatus
) -> dict[str, Any]:
    session = uow.session
    row = await get_scoped(session, t.Order, principal.workspace_id, order_id, lock=True)
    require_order_writer(principal)
    changed = row.status != status.value
    if changed:
        row.status = status.value
        row.updated_at = uow.clock.now()
        await session.flush()
    items = (await _items_of(session, [row.id]))[row.id]
    names = await _product_names(session, principal.workspace_id, [i.sku for i in items])
    view = order_view(row, items, names)
    if changed:
        uow.emit(principal.workspace_id, OrderUpdated(view))
    return view
