"""Workspace-scoped loading of single rows: the only way services fetch by id.

Each function filters by workspace first, so an id from another workspace is simply
"not found" — never a hint that it exists elsewhere.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TypeVar

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.domain.channels import Channel
from threadline.domain.errors import NotFound
from threadline.domain.security.access import Principal, can_see_conversation

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
)


async def get_scoped(
    session: AsyncSession, model: type[Row], workspace_id: int, row_id: int, *, lock: bool = False
) -> Row:
    query = select(model).where(model.id == row_id, model.workspace_id == workspace_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"{_singular(model.__tablename__).replace('_', ' ')} {row_id} not found")
    return row


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
