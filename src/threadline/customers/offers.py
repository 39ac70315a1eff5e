"""Offers made to a customer, recorded so that every agent knows them at once.

An offer with `valid_until` expires at that moment: every view computes its status from the
clock (`domain.offers.effective_status`), so it reads `expired` the moment it runs out, and
accepting or declining it from then on is refused (409). A durable `offer.expire` timer, armed
when the offer is recorded, also stores the expiry and emits `offer.updated`, so the screens
showing the offer refresh and the stored status agrees with what every view already says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import (
    customer_rows_newest_first,
    get_scoped,
    get_visible_conversation,
)
from threadline.core.timers import TimerHandlerMap, cancel_timer, schedule_timer, timer_key
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import offer_view
from threadline.domain.channels import Channel
from threadline.domain.customers.offers import (
    InvalidOffer,
    OfferStatus,
    check_status_change,
    effective_status,
    parse_currency,
    parse_price,
)
from threadline.domain.errors import DomainError
from threadline.domain.events import OfferRecorded, OfferUpdated
from threadline.domain.security.access import Principal

OFFER_EXPIRE = "offer.expire"


def expiry_timer_key(offer_id: int) -> str:
    return timer_key(OFFER_EXPIRE, offer_id)


@dataclass(frozen=True, slots=True)
class NewOffer:
    product: str
    price: str
    currency: str
    valid_until: datetime | None = None
    channel: Channel | None = None
    conversation_id: int | None = None


async def list_offers(
    session: AsyncSession, principal: Principal, customer_id: int
) -> list[t.Offer]:
    await get_scoped(session, t.Customer, principal.workspace_id, customer_id)
    return await customer_rows_newest_first(session, t.Offer, principal.workspace_id, customer_id)


async def record_offer(
    uow: UnitOfWork, principal: Principal, customer_id: int, offer: NewOffer
) -> t.Offer:
    session = uow.session
    now = uow.clock.now()
    customer = await get_scoped(session, t.Customer, principal.workspace_id, customer_id)
    if offer.conversation_id is not None:
        conversation = await get_visible_conversation(session, principal, offer.conversation_id)
        if conversation.customer_id != customer.id:
            raise DomainError(
                f"conversation {conversation.id} is not a conversation of customer {customer.id}"
            )
    if offer.valid_until is not None and offer.valid_until <= now:
        raise InvalidOffer("valid_until must be in the future")
    if not offer.product.strip():
        raise InvalidOffer("an offer needs a product")
    row = t.Offer(
        workspace_id=principal.workspace_id,
        customer_id=customer.id,
        conversation_id=offer.conversation_id,
        agent_id=principal.agent_id,
        product=offer.product.strip(),
        price=parse_price(offer.price),
        currency=parse_currency(offer.currency),
        channel=offer.channel.value if offer.channel else None,
        valid_until=offer.valid_until,
        status=OfferStatus.PROPOSED.value,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    if row.valid_until is not None:
        await schedule_timer(
            uow,
            principal.workspace_id,
            kind=OFFER_EXPIRE,
            key=expiry_timer_key(row.id),
            fire_at=row.valid_until,
            payload={"offer_id": row.id},
        )
    uow.emit(
        principal.workspace_id,
        # Not tied to the conversation, so every agent learns of it whatever they may see.
        OfferRecorded(offer_view(row, now)),
    )
    return row


async def change_offer_status(
    uow: UnitOfWork, principal: Principal, offer_id: int, status: OfferStatus
) -> t.Offer:
    offer = await get_scoped(uow.session, t.Offer, principal.workspace_id, offer_id, lock=True)
    now = uow.clock.now()
    check_status_change(OfferStatus(offer.status), status, offer.valid_until, now)
    if offer.status != status.value:
        offer.status = status.value
        await uow.session.flush()
        if status is not OfferStatus.PROPOSED:
            await cancel_timer(uow, principal.workspace_id, expiry_timer_key(offer.id))
        uow.emit(principal.workspace_id, OfferUpdated(offer_view(offer, now)))
    return offer


async def store_expiry(
    uow: UnitOfWork, workspace_id: int, payload: dict[str, Any], fired_at: datetime
) -> None:
    """The offer's validity ran out: store what its views already show, and tell the screens."""
    offer = (
        await uow.session.execute(
            select(t.Offer)
            .where(t.Offer.id == payload.get("offer_id"), t.Offer.workspace_id == workspace_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if offer is None:
        return
    stored = OfferStatus(offer.status)
    if stored is not OfferStatus.PROPOSED:
        return  # answered or withdrawn in time
    if effective_status(stored, offer.valid_until, fired_at) is not OfferStatus.EXPIRED:
        return  # not yet (a timer never fires early, but its row may have been re-armed)
    offer.status = OfferStatus.EXPIRED.value
    await uow.session.flush()
    uow.emit(workspace_id, OfferUpdated(offer_view(offer, fired_at)))


TIMER_HANDLERS: TimerHandlerMap = {
    OFFER_EXPIRE: store_expiry,
}
