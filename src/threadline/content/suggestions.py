"""What to suggest to the agent in a conversation: the scripts and suggested replies of its
labels, and products to offer (cross-sell and substitutes) from the customer's orders and the
SKUs the conversation mentions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.content.canned_responses import template_context
from threadline.content.catalogue import product_view
from threadline.core.lookups import get_visible_conversation
from threadline.domain.content.canned_responses import render
from threadline.domain.content.catalogue import (
    NOT_OWNED,
    CatalogueProduct,
    ProductSuggestions,
    RelationKind,
    sku_candidates,
    skus_mentioned,
    suggest,
)
from threadline.domain.security.access import Principal

# Only the recent part of a long conversation is scanned for SKUs.
MESSAGES_SCANNED = 100
# Values bound in one IN (...) of a product query; longer lists are asked in chunks.
IN_CHUNK = 500


@dataclass(frozen=True, slots=True)
class _ProductFindings:
    owned: list[str] = field(default_factory=list)
    mentioned: list[str] = field(default_factory=list)
    found: ProductSuggestions = field(default_factory=ProductSuggestions)
    # Every product loaded, by id: those owned or mentioned, and those related to them.
    products: dict[int, t.Product] = field(default_factory=dict)


async def conversation_suggestions(
    session: AsyncSession, principal: Principal, conversation_id: int
) -> dict[str, Any]:
    conversation = await get_visible_conversation(session, principal, conversation_id)
    labels = await _labels(session, conversation)
    scripts = await _label_scripts(session, principal, conversation, labels) if labels else []
    findings = await _product_findings(session, conversation)
    products = findings.products
    return {
        "conversation_id": conversation.id,
        "customer_id": conversation.customer_id,
        "labels": labels,
        "scripts": scripts,
        "owned_skus": findings.owned,
        "mentioned_skus": findings.mentioned,
        "cross_sell": [
            {"product": product_view(products[c.product_id]), "because_of": list(c.because_of)}
            for c in findings.found.cross_sell
        ],
        "substitutes": [
            {"product": product_view(products[s.product_id]), "instead_of": s.instead_of}
            for s in findings.found.substitutes
        ],
    }


async def _labels(session: AsyncSession, conversation: t.Conversation) -> list[str]:
    rows = await session.execute(
        select(t.ConversationLabel.label)
        .where(
            t.ConversationLabel.workspace_id == conversation.workspace_id,
            t.ConversationLabel.conversation_id == conversation.id,
        )
        .order_by(t.ConversationLabel.label)
    )
    return list(rows.scalars())


async def _label_scripts(
    session: AsyncSession, principal: Principal, conversation: t.Conversation, labels: list[str]
) -> list[dict[str, Any]]:
    """The scripts of the conversation's labels, their {{variables}} filled in."""
    values = (await template_context(session, principal, conversation)).values()
    rows = await session.execute(
        select(t.LabelScript)
        .where(
            t.LabelScript.workspace_id == conversation.workspace_id,
            t.LabelScript.label.in_(labels),
        )
        .order_by(t.LabelScript.label)
    )
    return [
        {
            "label_script_id": row.id,
            "label": row.label,
            "script": render(row.script, values) if row.script else None,
            "suggested_replies": [render(r, values) for r in row.suggested_replies],
        }
        for row in rows.scalars()
    ]


async def _product_findings(
    session: AsyncSession, conversation: t.Conversation
) -> _ProductFindings:
    """Products to offer from what the customer owns and what the conversation mentions.

    Only the products that can matter are loaded, never the whole catalogue: those owned or
    mentioned by SKU, then the products related to them."""
    ws = conversation.workspace_id
    if not await _has_catalogue(session, ws):
        return _ProductFindings()
    owned = await _owned_skus(session, ws, conversation.customer_id)
    texts = await _recent_texts(session, ws, conversation.id)
    candidates = dict.fromkeys([*owned, *sku_candidates(texts)])
    products = await _products_by_sku(session, ws, list(candidates))
    mentioned = skus_mentioned(texts, (p.sku for p in products.values()))
    # Only the relations of the products owned or mentioned can lead to a suggestion.
    sources = set(owned) | set(mentioned)
    relations = await _relations_of(
        session, ws, [p.id for p in products.values() if p.sku in sources]
    )
    missing = sorted({rid for _, rid, _ in relations} - set(products))
    products.update(await _products_by_id(session, ws, missing))
    found = suggest(
        {pid: CatalogueProduct(p.id, p.sku, p.active, p.in_stock) for pid, p in products.items()},
        relations,
        owned,
        mentioned,
    )
    return _ProductFindings(owned, mentioned, found, products)


async def _products_by_sku(
    session: AsyncSession, workspace_id: int, skus: list[str]
) -> dict[int, t.Product]:
    products: dict[int, t.Product] = {}
    for chunk in _chunks(skus):
        by_sku = await session.scalars(
            select(t.Product).where(
                t.Product.workspace_id == workspace_id, t.Product.sku.in_(chunk)
            )
        )
        products.update((p.id, p) for p in by_sku)
    return products


async def _products_by_id(
    session: AsyncSession, workspace_id: int, ids: list[int]
) -> dict[int, t.Product]:
    products: dict[int, t.Product] = {}
    for chunk in _chunks(ids):
        by_id = await session.scalars(
            select(t.Product).where(t.Product.workspace_id == workspace_id, t.Product.id.in_(chunk))
        )
        products.update((p.id, p) for p in by_id)
    return products


async def _relations_of(
    session: AsyncSession, workspace_id: int, product_ids: list[int]
) -> list[tuple[int, int, RelationKind]]:
    """(product, related product, kind) for every relation starting at these products."""
    relations: list[tuple[int, int, RelationKind]] = []
    for chunk in _chunks(product_ids):
        related = await session.execute(
            select(
                t.ProductRelation.product_id,
                t.ProductRelation.related_id,
                t.ProductRelation.kind,
            ).where(
                t.ProductRelation.workspace_id == workspace_id,
                t.ProductRelation.product_id.in_(chunk),
            )
        )
        relations.extend((pid, rid, RelationKind(kind)) for pid, rid, kind in related)
    return relations


_T = TypeVar("_T")


def _chunks(values: Sequence[_T], size: int = IN_CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


async def _has_catalogue(session: AsyncSession, workspace_id: int) -> bool:
    first = await session.execute(
        select(t.Product.id).where(t.Product.workspace_id == workspace_id).limit(1)
    )
    return first.first() is not None


async def _owned_skus(session: AsyncSession, workspace_id: int, customer_id: int) -> list[str]:
    """SKUs of the customer's orders, newest order first; cancelled and returned ones left out."""
    skus = (
        await session.execute(
            select(t.OrderItem.sku)
            .join(t.Order, t.Order.id == t.OrderItem.order_id)
            .where(
                t.Order.workspace_id == workspace_id,
                t.Order.customer_id == customer_id,
                t.Order.status.not_in([s.value for s in NOT_OWNED]),
            )
            .order_by(t.Order.placed_at.desc(), t.OrderItem.id)
        )
    ).scalars()
    return list(dict.fromkeys(skus))


async def _recent_texts(
    session: AsyncSession, workspace_id: int, conversation_id: int
) -> list[str]:
    """The texts of the conversation's latest messages, oldest first."""
    texts = (
        await session.execute(
            select(t.Message.text)
            .where(
                t.Message.workspace_id == workspace_id, t.Message.conversation_id == conversation_id
            )
            .order_by(t.Message.created_at.desc(), t.Message.id.desc())
            .limit(MESSAGES_SCANNED)
        )
    ).scalars()
    return list(reversed(list(texts)))
