"""Offers made to a customer, known to every agent at once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import Field

from threadline.core.views import offer_view
from threadline.customers import NewOffer, change_offer_status, list_offers, record_offer
from threadline.domain.channels import Channel
from threadline.domain.customers.offers import OfferStatus
from threadline.entrypoints.api.deps import PrincipalDep, RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import Moment, RowId, StrictBody

router = APIRouter(prefix="/api/v1", tags=["offers"])


class OfferBody(StrictBody):
    product: str = Field(min_length=1, max_length=300)
    price: str = Field(min_length=1, max_length=40, description="A non-negative amount, e.g. 19.99")
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217, e.g. EUR")
    valid_until: Moment | None = None
    channel: Channel | None = None
    conversation_id: RowId | None = None


class OfferStatusBody(StrictBody):
    status: OfferStatus


@router.get("/customers/{customer_id}/offers")
async def get_offers(
    customer_id: RowId, principal: PrincipalDep, runtime: RuntimeDep
) -> list[dict[str, Any]]:
    """Every offer made to the customer, on any channel, newest first; a proposal past its
    `valid_until` shows as `expired`."""
    now = runtime.clock.now()
    async with runtime.sessionmaker() as session:
        return [offer_view(o, now) for o in await list_offers(session, principal, customer_id)]


@router.post("/customers/{customer_id}/offers", status_code=status.HTTP_201_CREATED)
async def post_offer(
    customer_id: RowId, body: OfferBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.uow() as uow:
        offer = await record_offer(
            uow,
            principal,
            customer_id,
            NewOffer(
                product=body.product,
                price=body.price,
                currency=body.currency,
                valid_until=body.valid_until,
                channel=body.channel,
                conversation_id=body.conversation_id,
            ),
        )
        await uow.commit()
        return offer_view(offer, uow.clock.now())


@router.patch("/offers/{offer_id}", responses=problem_responses(409))
async def patch_offer(
    offer_id: RowId, body: OfferStatusBody, principal: PrincipalDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Records the customer's answer (accepted, declined), expiry or withdrawal. An offer
    past its `valid_until` is expired: answering it is refused with 409 and the reason."""
    async with runtime.uow() as uow:
        offer = await change_offer_status(uow, principal, offer_id, body.status)
        await uow.commit()
        return offer_view(offer, uow.clock.now())
