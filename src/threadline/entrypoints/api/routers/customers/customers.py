"""Customers: search, the customer card, the cross-channel timeline, and manual edits."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import Field

from threadline.conversations import queries
from threadline.core.views import customer_view
from threadline.customers import add_identity, create_customer, update_customer
from threadline.domain.channels import IdentityKind
from threadline.entrypoints.api.deps import PrincipalDep, RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import RowId, StrictBody

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])

Limit = Annotated[int | None, Query(ge=1, le=queries.MAX_PAGE)]


class IdentityBody(StrictBody):
    kind: IdentityKind
    value: str = Field(min_length=1, max_length=320)


class NewCustomerBody(StrictBody):
    name: str | None = Field(default=None, max_length=300)
    identities: list[IdentityBody] = Field(default_factory=list, max_length=20)


class CustomerChangesBody(StrictBody):
    """Only the fields sent are changed. Attributes are merged; a null value removes a key."""

    name: str | None = Field(default=None, max_length=300)
    attributes: dict[str, Any] | None = None
    labels: list[Annotated[str, Field(max_length=100)]] | None = Field(default=None, max_length=50)


@router.get("")
async def search_customers(
    principal: PrincipalDep,
    runtime: RuntimeDep,
    q: Annotated[str | None, Query(max_length=320)] = None,
    limit: Limit = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        page = await queries.search_customers(session, principal, q, limit=limit, cursor=cursor)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(409))
async def post_customer(
    body: NewCustomerBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        created = await create_customer(
            uow, principal, body.name, [(i.kind, i.value) for i in body.identities]
        )
        await uow.commit()
    return customer_view(created.customer, created.identities)


@router.get("/{customer_id}")
async def get_customer_card(
    customer_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        return await queries.customer_card(session, principal, customer_id, runtime.clock.now())


@router.get("/{customer_id}/timeline")
async def get_customer_timeline(
    customer_id: RowId,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    before_id: RowId | None = None,
    limit: Limit = None,
) -> dict[str, Any]:
    async with runtime.sessionmaker() as session:
        page = await queries.customer_timeline(
            session, principal, customer_id, before_id=before_id, limit=limit
        )
    return {"items": page.items, "next_before_id": _int_or_none(page.next_cursor)}


@router.patch("/{customer_id}")
async def patch_customer(
    customer_id: RowId, body: CustomerChangesBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        updated = await update_customer(
            uow, principal, customer_id, body.model_dump(include=body.model_fields_set)
        )
        await uow.commit()
    return customer_view(updated.customer, updated.identities)


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value is not None else None


@router.post(
    "/{customer_id}/identities",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409),
)
async def post_identity(
    customer_id: RowId, body: IdentityBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Add an address the customer gave, so an agent may reply on that channel."""
    async with runtime.uow() as uow:
        updated = await add_identity(uow, principal, customer_id, body.kind, body.value)
        await uow.commit()
    return customer_view(updated.customer, updated.identities)
