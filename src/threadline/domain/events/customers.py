"""Events about customers and what is kept on them: profile, merges, notes, offers, orders.

None is tied to one conversation, so every agent learns of them whatever they may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from threadline.domain.events.base import (
    CustomerView,
    DomainEvent,
    EventType,
    MergeView,
    NoteView,
    OfferView,
    OrderView,
)


@dataclass(frozen=True, slots=True)
class _CustomerEvent(DomainEvent):
    customer: CustomerView

    def payload(self) -> dict[str, Any]:
        # The payload is the customer's view itself.
        return self.customer


@dataclass(frozen=True, slots=True)
class CustomerCreated(_CustomerEvent):
    type = EventType.CUSTOMER_CREATED


@dataclass(frozen=True, slots=True)
class CustomerUpdated(_CustomerEvent):
    type = EventType.CUSTOMER_UPDATED


@dataclass(frozen=True, slots=True)
class CustomerMerged(DomainEvent):
    """`source` was merged into `target`."""

    type = EventType.CUSTOMER_MERGED

    merge: MergeView
    source: CustomerView
    target: CustomerView

    def payload(self) -> dict[str, Any]:
        return {"merge": self.merge, "source": self.source, "target": self.target}


@dataclass(frozen=True, slots=True)
class CustomerUnmerged(DomainEvent):
    """A merge was undone; `restored` lists, per kind of row, the ids given back to `source`."""

    type = EventType.CUSTOMER_UNMERGED

    merge: MergeView
    restored: dict[str, list[int]]
    source: CustomerView
    target: CustomerView

    def payload(self) -> dict[str, Any]:
        return {
            "merge": self.merge,
            "restored": self.restored,
            "source": self.source,
            "target": self.target,
        }


@dataclass(frozen=True, slots=True)
class NoteCreated(DomainEvent):
    type = EventType.NOTE_CREATED

    note: NoteView

    def payload(self) -> dict[str, Any]:
        return {"note": self.note}


@dataclass(frozen=True, slots=True)
class _OfferEvent(DomainEvent):
    offer: OfferView

    def payload(self) -> dict[str, Any]:
        return {"offer": self.offer}


@dataclass(frozen=True, slots=True)
class OfferRecorded(_OfferEvent):
    """An offer made to a customer was recorded."""

    type = EventType.OFFER_RECORDED


@dataclass(frozen=True, slots=True)
class OfferUpdated(_OfferEvent):
    """An offer to a customer changed (answered, withdrawn, or expired by its timer)."""

    type = EventType.OFFER_UPDATED


@dataclass(frozen=True, slots=True)
class _OrderEvent(DomainEvent):
    order: OrderView

    def payload(self) -> dict[str, Any]:
        return {"order": self.order}


@dataclass(frozen=True, slots=True)
class OrderRecorded(_OrderEvent):
    type = EventType.ORDER_RECORDED


@dataclass(frozen=True, slots=True)
class OrderUpdated(_OrderEvent):
    """An order's status changed."""

    type = EventType.ORDER_UPDATED
