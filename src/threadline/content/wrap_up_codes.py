"""Wrap-up codes: the classifications a workspace (or one of its teams) offers at resolve time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import get_scoped
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.errors import Conflict, DomainError, NotFound

MAX_SUMMARY_LENGTH = 500
CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")

# Every new workspace starts with these, so agents can resolve before an admin configures more.
DEFAULT_CODES: tuple[tuple[str, str], ...] = (
    ("solved", "Solved"),
    ("information_given", "Information given"),
    ("no_action_needed", "No action needed"),
    ("follow_up_planned", "Follow-up planned"),
)


@dataclass(frozen=True, slots=True)
class WrapUp:
    """What the agent chose when resolving: a code and a short summary."""

    code: str
    summary: str


def wrap_up_code_view(row: t.WrapUpCode) -> dict[str, Any]:
    return {
        "id": row.id,
        "code": row.code,
        "label": row.label,
        "team_id": row.team_id,
        "active": row.active,
        "follow_up_required": row.follow_up_required,
    }


async def add_default_codes(uow: UnitOfWork, workspace_id: int) -> None:
    now = uow.clock.now()
    for code, label in DEFAULT_CODES:
        uow.session.add(
            t.WrapUpCode(
                workspace_id=workspace_id,
                team_id=None,
                code=code,
                label=label,
                active=True,
                created_at=now,
            )
        )
    await uow.session.flush()


async def list_codes(
    session: AsyncSession, workspace_id: int, *, team_id: int | None = None, active_only: bool
) -> list[t.WrapUpCode]:
    """With a team: the workspace-wide codes and that team's; without: every code."""
    query = select(t.WrapUpCode).where(t.WrapUpCode.workspace_id == workspace_id)
    if team_id is not None:
        query = query.where(or_(t.WrapUpCode.team_id.is_(None), t.WrapUpCode.team_id == team_id))
    if active_only:
        query = query.where(t.WrapUpCode.active.is_(True))
    rows = await session.execute(query.order_by(t.WrapUpCode.code, t.WrapUpCode.id))
    return list(rows.scalars())


def _clean_code(code: str) -> str:
    cleaned = code.strip().lower()
    if not CODE_PATTERN.match(cleaned):
        raise DomainError(
            "a wrap-up code is 1-100 characters of a-z, 0-9, '_', '-' or '.', e.g. refund_issued"
        )
    return cleaned


async def _check_unique(
    session: AsyncSession, workspace_id: int, team_id: int | None, code: str, except_id: int | None
) -> None:
    query = select(t.WrapUpCode.id).where(
        t.WrapUpCode.workspace_id == workspace_id,
        t.WrapUpCode.code == code,
        t.WrapUpCode.team_id.is_(None) if team_id is None else t.WrapUpCode.team_id == team_id,
    )
    if except_id is not None:
        query = query.where(t.WrapUpCode.id != except_id)
    if (await session.execute(query)).first():
        where = f"team {team_id}" if team_id is not None else "the workspace"
        raise Conflict(f"the wrap-up code {code!r} exists already for {where}")


async def create_code(
    uow: UnitOfWork,
    workspace_id: int,
    *,
    code: str,
    label: str,
    team_id: int | None,
    follow_up_required: bool = False,
) -> t.WrapUpCode:
    session = uow.session
    cleaned = _clean_code(code)
    if team_id is not None:
        await get_scoped(session, t.Team, workspace_id, team_id)
    await _check_unique(session, workspace_id, team_id, cleaned, None)
    row = t.WrapUpCode(
        workspace_id=workspace_id,
        team_id=team_id,
        code=cleaned,
        label=label.strip() or cleaned,
        active=True,
        follow_up_required=follow_up_required,
        created_at=uow.clock.now(),
    )
    session.add(row)
    await session.flush()
    return row


async def update_code(
    uow: UnitOfWork, workspace_id: int, code_id: int, changes: dict[str, Any]
) -> t.WrapUpCode:
    """Renames (`label`), (de)activates (`active`), moves (`team_id`, null = workspace-wide)
    or says whether resolving with it needs a follow-up (`follow_up_required`).
    The code itself stays: resolved conversations keep referring to it."""
    session = uow.session
    row = (
        await session.execute(
            select(t.WrapUpCode)
            .where(t.WrapUpCode.id == code_id, t.WrapUpCode.workspace_id == workspace_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"wrap-up code {code_id} not found")
    if "team_id" in changes:
        team_id = changes["team_id"]
        if team_id is not None:
            await get_scoped(session, t.Team, workspace_id, team_id)
        await _check_unique(session, workspace_id, team_id, row.code, row.id)
        row.team_id = team_id
    if changes.get("label") is not None:
        row.label = str(changes["label"]).strip() or row.code
    if changes.get("active") is not None:
        row.active = bool(changes["active"])
    if changes.get("follow_up_required") is not None:
        row.follow_up_required = bool(changes["follow_up_required"])
    await session.flush()
    return row


async def check_wrap_up(
    session: AsyncSession,
    conversation: t.Conversation,
    wrap_up: WrapUp | None,
    *,
    with_follow_up: bool = False,
) -> WrapUp:
    """Resolving needs an active code offered to the conversation's team and a short summary;
    a code that needs a follow-up, one planned with it (`with_follow_up`)."""
    offered = await list_codes(
        session, conversation.workspace_id, team_id=conversation.team_id, active_only=True
    )
    # Team codes only count for the conversation's own team.
    offered = [c for c in offered if c.team_id is None or c.team_id == conversation.team_id]
    choices = ", ".join(sorted({c.code for c in offered})) or "none configured; ask an admin"
    if wrap_up is None or not wrap_up.code.strip():
        raise DomainError(f"resolving needs a wrap-up code: one of {choices}")
    code = wrap_up.code.strip().lower()
    chosen = [c for c in offered if c.code == code]
    if not chosen:
        raise DomainError(
            f"{wrap_up.code!r} is not an active wrap-up code for this conversation: "
            f"resolving needs a wrap-up code: one of {choices}"
        )
    if not with_follow_up and any(c.follow_up_required for c in chosen):
        raise DomainError(
            f"the wrap-up code {code!r} needs a follow-up: plan when and how to come back "
            "to the customer as you resolve"
        )
    summary = wrap_up.summary.strip()
    if not summary:
        raise DomainError("resolving needs a short summary of the matter (1-500 characters)")
    if len(summary) > MAX_SUMMARY_LENGTH:
        raise DomainError(f"the wrap-up summary is limited to {MAX_SUMMARY_LENGTH} characters")
    return WrapUp(code, summary)
