"""Finding customers by name or by any spelling of one of their identities."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.conversations.queries.paging import Page, int_cursor, page_size
from threadline.core.lookups import get_workspace
from threadline.core.views import customer_view
from threadline.customers.identities import identities_by_customer
from threadline.domain.customers.identities import normalise_email, normalise_phone
from threadline.domain.errors import InvalidIdentity
from threadline.domain.security.access import Principal


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _identity_spellings(query: str, default_region: str) -> set[str]:
    """The query as typed, plus its normalised form when it reads as an email or a phone,
    so "0048 601 234 567" finds +48601234567."""
    spellings = {query}
    if "@" in query:
        try:
            spellings.add(normalise_email(query))
        except InvalidIdentity:
            pass
    elif any(ch.isdigit() for ch in query):
        try:
            spellings.add(normalise_phone(query, default_region))
        except InvalidIdentity:
            pass
    return spellings


async def search_customers(
    session: AsyncSession,
    principal: Principal,
    query: str | None,
    *,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page:
    """Customers whose name contains `query` (any case) or who have an identity spelled
    like it; newest first, paged by customer id. Merged-away customers are left out."""
    ws = principal.workspace_id
    size = page_size(limit)
    statement = select(t.Customer).where(
        t.Customer.workspace_id == ws, t.Customer.merged_into_id.is_(None)
    )
    text = (query or "").strip()
    if text:
        workspace = await get_workspace(session, ws)
        spellings = _identity_spellings(text, workspace.default_region)
        pattern = _like_pattern(text)
        by_identity = select(t.Identity.customer_id).where(
            t.Identity.workspace_id == ws,
            or_(t.Identity.value.in_(sorted(spellings)), t.Identity.value.ilike(pattern, "\\")),
        )
        statement = statement.where(
            or_(t.Customer.name.ilike(pattern, "\\"), t.Customer.id.in_(by_identity))
        )
    if cursor is not None:
        statement = statement.where(t.Customer.id < int_cursor(cursor))
    customers = list(
        (await session.execute(statement.order_by(t.Customer.id.desc()).limit(size + 1)))
        .scalars()
        .all()
    )
    more = len(customers) > size
    customers = customers[:size]
    identities = await identities_by_customer(session, ws, [c.id for c in customers])
    items = [customer_view(c, identities.get(c.id, [])) for c in customers]
    return Page(items, str(customers[-1].id) if more else None)
