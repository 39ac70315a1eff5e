"""Canned responses: standard replies found by shortcut and rendered for a conversation.

Admins and supervisors manage them; every agent reads, searches and renders them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import (
    delete_scoped,
    get_scoped,
    get_visible_conversation,
    get_workspace,
)
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import iso
from threadline.domain.channels import IdentityKind
from threadline.domain.content.canned_responses import (
    TemplateContext,
    check_template,
    normalise_shortcut,
    rank_by_query,
    render,
)
from threadline.domain.errors import DomainError
from threadline.domain.security.access import Principal, Role, require_role

MAX_TITLE_LENGTH = 200
SEARCH_LIMIT = 50


@dataclass(frozen=True, slots=True)
class CannedResponseFields:
    shortcut: str
    title: str
    body: str


def canned_response_view(row: t.CannedResponse) -> dict[str, Any]:
    try:
        variables = check_template(row.body)
    except DomainError:
        # Stored before a rule changed, or behind the API's back: still shown, never evaluated.
        variables = []
    return {
        "id": row.id,
        "shortcut": row.shortcut,
        "title": row.title,
        "body": row.body,
        "variables": variables,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def _checked(fields: CannedResponseFields) -> CannedResponseFields:
    title = fields.title.strip()
    if not title or len(title) > MAX_TITLE_LENGTH:
        raise DomainError(f"a title needs 1-{MAX_TITLE_LENGTH} characters")
    if not fields.body.strip():
        raise DomainError("a canned response needs a body")
    check_template(fields.body)
    return CannedResponseFields(normalise_shortcut(fields.shortcut), title, fields.body.strip())


async def search_canned_responses(
    session: AsyncSession, principal: Principal, query: str | None = None
) -> list[t.CannedResponse]:
    """All of the workspace's canned responses, or those matching `query`: exact shortcut
    first, then shortcut prefixes, then titles with a word starting with it, then titles
    containing it."""
    rows = (
        await session.execute(
            select(t.CannedResponse)
            .where(t.CannedResponse.workspace_id == principal.workspace_id)
            .order_by(t.CannedResponse.shortcut)
        )
    ).scalars()
    if not query or not query.strip():
        return list(rows)
    ranked = [(rank_by_query(query, row.shortcut, row.title), row) for row in rows]
    hits = [(rank, row) for rank, row in ranked if rank is not None]
    hits.sort(key=lambda hit: (hit[0], hit[1].shortcut))
    return [row for _, row in hits[:SEARCH_LIMIT]]


async def get_canned_response(
    session: AsyncSession, principal: Principal, canned_response_id: int
) -> t.CannedResponse:
    return await get_scoped(session, t.CannedResponse, principal.workspace_id, canned_response_id)


async def create_canned_response(
    uow: UnitOfWork, principal: Principal, fields: CannedResponseFields
) -> t.CannedResponse:
    require_role(principal, Role.SUPERVISOR)
    checked = _checked(fields)
    now = uow.clock.now()
    return await uow.add_or_conflict(
        t.CannedResponse(
            workspace_id=principal.workspace_id,
            shortcut=checked.shortcut,
            title=checked.title,
            body=checked.body,
            created_at=now,
            updated_at=now,
        ),
        f"the shortcut {checked.shortcut!r} is already taken",
    )


async def update_canned_response(
    uow: UnitOfWork, principal: Principal, canned_response_id: int, fields: CannedResponseFields
) -> t.CannedResponse:
    row = await get_scoped(
        uow.session, t.CannedResponse, principal.workspace_id, canned_response_id
    )
    require_role(principal, Role.SUPERVISOR)
    checked = _checked(fields)
    row.shortcut, row.title, row.body = checked.shortcut, checked.title, checked.body
    row.updated_at = uow.clock.now()
    await uow.flush_or_conflict(f"the shortcut {checked.shortcut!r} is already taken")
    return row


async def delete_canned_response(
    uow: UnitOfWork, principal: Principal, canned_response_id: int
) -> None:
    await delete_scoped(
        uow.session, principal, t.CannedResponse, canned_response_id, Role.SUPERVISOR
    )


async def template_context(
    session: AsyncSession, principal: Principal, conversation: t.Conversation
) -> TemplateContext:
    """The values the {{variables}} stand for in this conversation, for this agent."""
    customer = await session.get(t.Customer, conversation.customer_id)
    assert customer is not None  # conversations.customer_id is a non-null foreign key
    identities = (
        await session.execute(
            select(t.Identity.kind, t.Identity.value)
            .where(
                t.Identity.workspace_id == principal.workspace_id,
                t.Identity.customer_id == conversation.customer_id,
                t.Identity.kind.in_([IdentityKind.EMAIL.value, IdentityKind.PHONE.value]),
            )
            .order_by(t.Identity.id)
        )
    ).all()
    first_of: dict[str, str] = {}
    for kind, value in identities:
        first_of.setdefault(kind, value)
    agent = await session.get(t.Agent, principal.agent_id) if principal.agent_id else None
    workspace = await get_workspace(session, principal.workspace_id)
    return TemplateContext(
        customer_name=customer.name,
        customer_email=first_of.get(IdentityKind.EMAIL.value),
        customer_phone=first_of.get(IdentityKind.PHONE.value),
        agent_name=agent.name if agent else None,
        conversation_id=conversation.id,
        conversation_subject=conversation.subject,
        workspace_name=workspace.name,
    )


async def render_canned_response(
    session: AsyncSession, principal: Principal, conversation_id: int, canned_response_id: int
) -> dict[str, Any]:
    """The canned response's text for this conversation's reply box."""
    conversation = await get_visible_conversation(session, principal, conversation_id)
    row = await get_scoped(session, t.CannedResponse, principal.workspace_id, canned_response_id)
    context = await template_context(session, principal, conversation)
    return {
        "canned_response_id": row.id,
        "shortcut": row.shortcut,
        "conversation_id": conversation.id,
        "text": render(row.body, context.values()),
    }
