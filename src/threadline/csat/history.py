"""A customer's satisfaction answers as the customer card shows them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.csat.answers import survey_view


async def answered_surveys(
    session: AsyncSession, workspace_id: int, conversations: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Answers are asked for after a matter is resolved, so only resolved ones are looked at:
    all of them in one query, grouped by conversation in the card's order, newest first."""
    resolved = [c["id"] for c in conversations if c["resolved_at"] is not None]
    if not resolved:
        return []
    rows = await session.execute(
        select(t.CsatSurvey)
        .where(
            t.CsatSurvey.workspace_id == workspace_id,
            t.CsatSurvey.conversation_id.in_(resolved),
            t.CsatSurvey.score.is_not(None),
        )
        .order_by(t.CsatSurvey.answered_at.desc())
    )
    place = {conversation_id: i for i, conversation_id in enumerate(resolved)}
    return sorted(
        (survey_view(s) for s in rows.scalars()), key=lambda s: place[s["conversation_id"]]
    )
