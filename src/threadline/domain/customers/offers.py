"""Offers made to a customer: what a valid price, currency and status change are."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from threadline.domain.errors import Conflict, DomainError

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_PRICE = re.compile(r"^\d+(\.\d{1,2})?$")


class OfferStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class InvalidOffer(DomainError):
    title = "Invalid offer"


def parse_price(raw: str) -> str:
    """A non-negative amount with at most two decimals, kept as text so it is never rounded."""
    candidate = raw.strip()
    if not _PRICE.match(candidate):
        raise InvalidOffer(
            f"price {raw!r} must be a non-negative decimal with at most 2 decimals, e.g. 19.99"
        )
    try:
        return str(Decimal(candidate))
    except InvalidOperation as exc:  # pragma: no cover - the pattern already rules this out
        raise InvalidOffer(f"price {raw!r} is not a number") from exc


def parse_currency(raw: str) -> str:
    code = raw.strip().upper()
    if not _CURRENCY.match(code):
        raise InvalidOffer(f"currency {raw!r} must be an ISO 4217 code of 3 letters, e.g. EUR")
    return code


def effective_status(
    stored: OfferStatus, valid_until: datetime | None, now: datetime
) -> OfferStatus:
    """What the offer is at `now`: a proposal whose validity has run out is expired from that
    moment on, whether or not its expiry has been stored yet (a durable timer stores it)."""
    if stored is OfferStatus.PROPOSED and valid_until is not None and now >= valid_until:
        return OfferStatus.EXPIRED
    return stored


def check_status_change(
    stored: OfferStatus, new: OfferStatus, valid_until: datetime | None, now: datetime
) -> None:
    # Only an open proposal can be answered; an answered offer stays as the record of it.
    current = effective_status(stored, valid_until, now)
    if current is new:
        return
    if current is OfferStatus.EXPIRED and valid_until is not None:
        raise Conflict(
            f"the offer expired at {valid_until.isoformat()} and can no longer become "
            f"{new.value}; record a new offer instead"
        )
    if current is not OfferStatus.PROPOSED:
        raise Conflict(f"the offer is {current.value} already and can no longer become {new.value}")
