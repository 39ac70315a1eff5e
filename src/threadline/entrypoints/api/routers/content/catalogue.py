"""The product catalogue and customers' orders.

Products and their relations: admins manage, everyone reads. Orders: recorded by an admin or
by an integration with a workspace API key (the shop), read by every agent on the customer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import Field

from threadline.content import (
    MAX_ORDER_ITEMS,
    MAX_ORDER_NUMBER_LENGTH,
    MAX_PRODUCT_NAME_LENGTH,
    MAX_QUANTITY,
    NewOrder,
    OrderLine,
    ProductFields,
    change_order_status,
    create_product,
    customer_orders,
    delete_product,
    get_product_detail,
    list_products,
    product_detail,
    product_relations,
    product_view,
    record_order,
    set_relations,
    update_product,
)
from threadline.domain.content.catalogue import MAX_SKU_LENGTH, OrderStatus
from threadline.entrypoints.api.deps import PrincipalDep, RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import Moment, RowId, StrictBody

router = APIRouter(prefix="/api/v1", tags=["catalogue"])

Sku = Annotated[str, Field(min_length=1, max_length=MAX_SKU_LENGTH, description="e.g. KET-100")]


class ProductBody(StrictBody):
    sku: Sku
    name: str = Field(min_length=1, max_length=MAX_PRODUCT_NAME_LENGTH)
    price: str = Field(min_length=1, max_length=40, description="A non-negative amount, e.g. 19.99")
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217, e.g. EUR")
    description: str = Field(default="", max_length=5000)
    active: bool = True
    in_stock: bool = True


class ProductPatch(StrictBody):
    sku: Sku | None = None
    name: str | None = Field(default=None, min_length=1, max_length=MAX_PRODUCT_NAME_LENGTH)
    price: str | None = Field(default=None, min_length=1, max_length=40)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    description: str | None = Field(default=None, max_length=5000)
    active: bool | None = None
    in_stock: bool | None = None


class RelationsBody(StrictBody):
    complementary: list[Sku] = Field(
        default_factory=list, max_length=100, description="SKUs to sell with this product"
    )
    substitute: list[Sku] = Field(
        default_factory=list, max_length=100, description="SKUs to sell instead of it"
    )


class OrderItemBody(StrictBody):
    sku: Sku
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)


class OrderBody(StrictBody):
    number: str = Field(
        min_length=1, max_length=MAX_ORDER_NUMBER_LENGTH, description="The shop's order number"
    )
    status: OrderStatus = OrderStatus.PLACED
    placed_at: Moment
    items: list[OrderItemBody] = Field(min_length=1, max_length=MAX_ORDER_ITEMS)


class OrderStatusBody(StrictBody):
    status: OrderStatus


@router.get("/products")
async def get_products(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    q: Annotated[str | None, Query(max_length=100, description="Part of a SKU or name")] = None,
    active: bool | None = None,
) -> list[dict[str, Any]]:
    async with runtime.sessionmaker() as session:
        rows = await list_products(session, principal, q, active)
        relations = await product_relations(session, principal.workspace_id, [r.id for r in rows])
    return [product_view(r, relations[r.id]) for r in rows]


@router.post("/products", status_code=status.HTTP_201_CREATED, responses=problem_responses(409))
async def post_product(
    body: ProductBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Admins. A second product with the same SKU is a 409."""
    async with runtime.uow() as uow:
        row = await create_product(uow, principal, ProductFields(**body.model_dump()))
        await uow.commit()
        return product_view(row, {})


@router.get("/products/{product_id}")
async def get_one_product(
    product_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        return await get_product_detail(session, principal, product_id)


@router.patch("/products/{product_id}", responses=problem_responses(409))
async def patch_product(
    product_id: RowId, body: ProductPatch, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Admins: change any field, e.g. `{"in_stock": false}` to have substitutes suggested."""
    async with runtime.uow() as uow:
        row = await update_product(uow, principal, product_id, body.model_dump(exclude_none=True))
        view = await product_detail(uow.session, principal.workspace_id, row)
        await uow.commit()
    return view


@router.put("/products/{product_id}/relations")
async def put_relations(
    product_id: RowId, body: RelationsBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Admins: replace the product's complementary and substitute products (by SKU)."""
    async with runtime.uow() as uow:
        view = await set_relations(uow, principal, product_id, body.complementary, body.substitute)
        await uow.commit()
    return view


@router.delete("/products/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_product(
    product_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> Response:
    """Admins. Orders keep their SKUs; to stop suggesting a product, PATCH `active` instead."""
    async with runtime.uow() as uow:
        await delete_product(uow, principal, product_id)
        await uow.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/customers/{customer_id}/orders")
async def get_customer_orders(
    customer_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> list[dict[str, Any]]:
    """The customer's orders, newest first, with items (SKU, quantity, product name if known)."""
    async with runtime.sessionmaker() as session:
        return await customer_orders(session, principal, customer_id)


@router.post(
    "/customers/{customer_id}/orders",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409),
)
async def post_customer_order(
    customer_id: RowId, body: OrderBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Admins or a workspace API key. SKUs unknown to the catalogue are kept as sent.
    An order number already recorded is a 409: change its status with PATCH."""
    async with runtime.uow() as uow:
        view = await record_order(
            uow,
            principal,
            customer_id,
            NewOrder(
                number=body.number,
                status=body.status,
                placed_at=body.placed_at,
                items=tuple(OrderLine(i.sku, i.quantity) for i in body.items),
            ),
        )
        await uow.commit()
    return view


@router.patch("/orders/{order_id}")
async def patch_order(
    order_id: RowId, body: OrderStatusBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Admins or a workspace API key: the order's new status (shipped, delivered, …)."""
    async with runtime.uow() as uow:
        view = await change_order_status(uow, principal, order_id, body.status)
        await uow.commit()
    return view
