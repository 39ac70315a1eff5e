"""The product catalogue and what to suggest from it.

Cross-sell: for the products a customer has ordered (or that the conversation mentions by SKU),
the complementary products they do not have yet. Substitutes: for those of them that are
inactive or out of stock, the products that can stand in for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from threadline.domain.errors import DomainError

MAX_SKU_LENGTH = 64
_SKU = re.compile(r"^[A-Z0-9][A-Z0-9._/-]*$")
# Candidate SKUs in free text: runs of letters, digits and - . _ / that start and end with a
# letter or digit (so the full stop after "KET-100." is not part of it).
_SKU_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*[A-Za-z0-9]")


class RelationKind(StrEnum):
    COMPLEMENTARY = "complementary"
    SUBSTITUTE = "substitute"


class OrderStatus(StrEnum):
    PLACED = "placed"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"


# The customer does not have what they cancelled or sent back.
NOT_OWNED = frozenset({OrderStatus.CANCELLED, OrderStatus.RETURNED})


class InvalidProduct(DomainError):
    title = "Invalid product"


def normalise_sku(raw: str) -> str:
    sku = raw.strip().upper()
    if not sku or len(sku) > MAX_SKU_LENGTH or not _SKU.match(sku):
        raise InvalidProduct(
            f"SKU {raw!r} must be 1-{MAX_SKU_LENGTH} letters, digits, '.', '_', '/' or '-', "
            "starting with a letter or digit"
        )
    return sku


@dataclass(frozen=True, slots=True)
class CatalogueProduct:
    id: int
    sku: str
    active: bool
    in_stock: bool

    @property
    def available(self) -> bool:
        return self.active and self.in_stock


@dataclass(frozen=True, slots=True)
class CrossSell:
    product_id: int
    because_of: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Substitute:
    product_id: int
    instead_of: str


@dataclass(frozen=True, slots=True)
class ProductSuggestions:
    cross_sell: list[CrossSell] = field(default_factory=list)
    substitutes: list[Substitute] = field(default_factory=list)


def sku_candidates(texts: Iterable[str]) -> list[str]:
    """The words of the texts that could be SKUs, upper-cased, in order of first appearance."""
    return list(
        dict.fromkeys(
            token.upper()
            for text in texts
            for token in _SKU_TOKEN.findall(text)
            if len(token) <= MAX_SKU_LENGTH
        )
    )


def skus_mentioned(texts: Iterable[str], known_skus: Iterable[str]) -> list[str]:
    """Catalogue SKUs that appear as whole words in the texts, in order of first appearance."""
    known = set(known_skus)
    return [sku for sku in sku_candidates(texts) if sku in known]


def suggest(
    products: Mapping[int, CatalogueProduct],
    relations: Iterable[tuple[int, int, RelationKind]],
    owned_skus: Iterable[str],
    mentioned_skus: Iterable[str] = (),
) -> ProductSuggestions:
    """Suggestions for a customer owning `owned_skus`, talking about `mentioned_skus`.

    `relations` are (product_id, related_id, kind). Only available products are suggested,
    never one the customer already owns; each is suggested once, with every product that led
    to it (cross-sell) or the first one it stands in for (substitute).
    """
    by_sku = {p.sku: p for p in products.values()}
    owned = set(owned_skus)
    base: list[CatalogueProduct] = []
    for sku in [*owned_skus, *mentioned_skus]:
        product = by_sku.get(sku)
        if product is not None and product not in base:
            base.append(product)
    complements: dict[int, list[int]] = {}
    substitutes: dict[int, list[int]] = {}
    for product_id, related_id, kind in relations:
        target = complements if kind is RelationKind.COMPLEMENTARY else substitutes
        target.setdefault(product_id, []).append(related_id)

    def wanted(related_id: int) -> CatalogueProduct | None:
        related = products.get(related_id)
        if related is None or not related.available or related.sku in owned:
            return None
        return related

    cross: dict[int, list[str]] = {}
    for product in base:
        for related_id in sorted(complements.get(product.id, [])):
            related = wanted(related_id)
            if related is not None and product.sku not in cross.setdefault(related.id, []):
                cross[related.id].append(product.sku)
    swaps: dict[int, str] = {}
    for product in base:
        if product.available:
            continue
        for related_id in sorted(substitutes.get(product.id, [])):
            related = wanted(related_id)
            if related is not None:
                swaps.setdefault(related.id, product.sku)
    return ProductSuggestions(
        cross_sell=[CrossSell(pid, tuple(skus)) for pid, skus in cross.items() if skus],
        substitutes=[Substitute(pid, sku) for pid, sku in swaps.items()],
    )
