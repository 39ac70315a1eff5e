"""Workspace-scoped loading of single rows: the only way services fetch by id.

Each function filters by workspace first, so an id from another workspace is simply
"not found" — never a hint that it exists elsewhere.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.domain.channels import Channel
from threadline.domain.errors import NotFound
from threadline.domain.security.access import Principal, Role, can_see_conversation, require_role

Row = TypeVar(
    "Row",
    t.Customer,
    t.Conversation,
    t.Message,
    t.Agent,
    t.Team,
    t.Inbox,
    t.Note,
    t.Offer,
    t.Task,
    t.CustomerMerge,
    t.ApiKey,
    t.CannedResponse,
    t.LabelScript,
    t.Product,
    t.Order,
    t.EmailDomain,
    t.SlaClock,
    t.BusinessCalendarRow,
    t.SlaPolicy,
)
# Rows written about a customer, listed newest first on the customer card.
CustomerRecord = TypeVar("CustomerRecord", t.Note, t.Offer)


async def find_scoped(
    session: AsyncSession, model: type[Row], workspace_id: int, row_id: int, *, lock: bool = False
) -> Row | None:
    """The workspace's row with this id, or None: for callers to whom a missing row is
    normal (a timer firing after its subject was deleted)."""
    query = select(model).where(model.id == row_id, model.workspace_id == workspace_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def get_scoped(
    session: AsyncSession, model: type[Row], workspace_id: int, row_id: int, *, lock: bool = False
) -> Row:
    row = await find_scoped(session, model, workspace_id, row_id, lock=lock)
    if row is None:
        raise NotFound(f"{_singular(model.__tablename__).replace('_', ' ')} {row_id} not found")
    return row


async def name_taken(
    session: AsyncSession,
    model: type[t.Team] | type[t.Inbox],
    workspace_id: int,
    name: str,
    except_id: int | None = None,
) -> bool:
    """Whether another of the workspace's rows of the model (not `except_id`) has this name."""
    query = select(model.id).where(model.workspace_id == workspace_id, model.name == name)
    if except_id is not None:
        query = query.where(model.id != except_id)
    return (await session.execute(query)).first() is not None


async def list_scoped(
    session: AsyncSession, model: type[Row], workspace_id: int, *order_by: Any
) -> list[Row]:
    """All of the workspace's rows of the model, in this order."""
    rows = await session.execute(
        select(model).where(model.workspace_id == workspace_id).order_by(*order_by)
    )
    return list(rows.scalars())


async def customer_rows_newest_first(
    session: AsyncSession,
    model: type[CustomerRecord],
    workspace_id: int,
    customer_id: int,
    *,
    limit: int | None = None,
) -> list[CustomerRecord]:
    """The customer's rows of the model (notes, offers), newest first; ties by id."""
    rows = await session.execute(
        select(model)
        .where(model.workspace_id == workspace_id, model.customer_id == customer_id)
        .order_by(model.created_at.desc(), model.id.desc())
        .limit(limit)
    )
    return list(rows.scalars())


async def delete_scoped(
    session: AsyncSession, principal: Principal, model: type[Row], row_id: int, role: Role
) -> None:
    """Delete one of the workspace's rows; a missing row is "not found" before a caller
    without `role` is refused, as for every lookup."""
    row = await get_scoped(session, model, principal.workspace_id, row_id)
    require_role(principal, role)
    await session.delete(row)
    await session.flush()


def _singular(table: str) -> str:
    """One row of a table: inboxes -> inbox, identities -> identity, agents -> agent."""
    if table.endswith("ies"):
        return table[:-3] + "y"
    if table.endswith("xes"):
        return table[:-2]
    return table.removesuffix("s")


async def get_visible_conversation(
    session: AsyncSession, principal: Principal, conversation_id: int, *, lock: bool = False
) -> t.Conversation:
    conversation = await get_scoped(
        session, t.Conversation, principal.workspace_id, conversation_id, lock=lock
    )
    if not can_see_conversation(
        principal, assignee_id=conversation.assignee_id, team_id=conversation.team_id
    ):
        raise NotFound(f"conversation {conversation_id} not found")
    return conversation


async def get_workspace(session: AsyncSession, workspace_id: int) -> t.Workspace:
    workspace = await session.get(t.Workspace, workspace_id)
    if workspace is None:
        raise NotFound(f"workspace {workspace_id} not found")
    return workspace


def known_by_provider_id(
    workspace_id: int, inbox_id: int | None, provider_ids: Collection[str]
) -> ColumnElement[bool]:
    """Messages known by the ids their provider gave them. An id is the provider's for one
    inbox (one number, one mailbox, one bot), so the inbox is always part of the match: the
    same id arriving on another inbox, even of the same workspace, names another message."""
    return and_(
        t.Message.workspace_id == workspace_id,
        t.Message.inbox_id == inbox_id,
        t.Message.provider_message_id.in_(list(provider_ids)),
    )


async def stored_provider_ids(
    session: AsyncSession, workspace_id: int, inbox_id: int, provider_ids: Collection[str]
) -> set[str]:
    """Which of these provider ids the inbox has stored already (redeliveries)."""
    if not provider_ids:
        return set()
    found = await session.execute(
        select(t.Message.provider_message_id).where(
            known_by_provider_id(workspace_id, inbox_id, provider_ids)
        )
    )
    return {provider_id for provider_id in found.scalars() if provider_id is not None}


async def first_inbox(session: AsyncSession, workspace_id: int, channel: Channel) -> t.Inbox | None:
    """The workspace's oldest inbox of the channel: where a message goes when nothing says
    which inbox of that channel it should leave from."""
    return (
        await session.execute(
            select(t.Inbox)
            .where(t.Inbox.workspace_id == workspace_id, t.Inbox.channel == channel.value)
            .order_by(t.Inbox.id)
            .limit(1)
        )
    ).scalar_one_or_none()
