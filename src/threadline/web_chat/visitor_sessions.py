"""Visitor sessions: a visitor started or resumed from their signed token, and what the
frame shows besides messages. Visitors are never principals: every read here is scoped to
the visitor's own workspace and customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.customers.identities import find_customer_by_identity
from threadline.domain.channels import IdentityKind
from threadline.domain.customers.identities import normalise_identity
from threadline.domain.errors import DomainError
from threadline.domain.messaging.web_chat import (
    InvalidVisitorToken,
    VisitorClaims,
    new_visitor_id,
    read_visitor_token,
    sign_visitor_token,
    verify_user_hash,
)
from threadline.routing import online_agents
from threadline.web_chat.visitor_conversations import latest_conversation_id
from threadline.web_chat.visitor_wait import visitor_queue
from threadline.web_chat.widget_inboxes import find_widget_inbox


@dataclass(frozen=True, slots=True)
class VisitorSession:
    token: str
    claims: VisitorClaims
    inbox: t.Inbox
    # visitor_state: agents_online, conversation_id, queue.
    state: dict[str, Any]


async def start_visitor_session(
    session: AsyncSession,
    signing_key: str,
    public_key: str,
    *,
    token: str | None,
    user_id: str | None,
    user_hash: str | None,
    now: datetime,
) -> VisitorSession:
    """Resume the visitor of `token`, or start a new one.

    A signed user id (data-user-id + data-user-hash) ties the visitor to that known
    customer; a visitor whose token was made for another user id (or none) starts afresh,
    so a shared computer never shows one person's chat to the next.
    """
    inbox = await find_widget_inbox(session, public_key)
    if user_id is not None:
        if not inbox.secret:
            raise DomainError("this widget cannot verify users: its inbox has no secret")
        verify_user_hash(inbox.secret, user_id, user_hash or "")
    claims: VisitorClaims | None = None
    if token:
        try:
            claims = read_visitor_token(signing_key, token)
        except InvalidVisitorToken:
            claims = None
    if (
        claims is None
        or claims.inbox_id != inbox.id
        or claims.workspace_id != inbox.workspace_id
        or claims.user_id != user_id
    ):
        claims = VisitorClaims(inbox.workspace_id, inbox.id, new_visitor_id(), user_id)
        token = sign_visitor_token(signing_key, claims)
    assert token is not None
    return VisitorSession(
        token=token, claims=claims, inbox=inbox, state=await visitor_state(session, claims, now)
    )


async def authenticate_visitor(
    session: AsyncSession, signing_key: str, token: str
) -> tuple[VisitorClaims, t.Inbox]:
    claims = read_visitor_token(signing_key, token)
    inbox = await session.get(t.Inbox, claims.inbox_id)
    if inbox is None or inbox.workspace_id != claims.workspace_id:
        raise InvalidVisitorToken("this chat no longer exists; start a new session")
    return claims, inbox


async def visitor_customer_id(session: AsyncSession, claims: VisitorClaims) -> int | None:
    key = normalise_identity(IdentityKind.WEB_VISITOR, claims.visitor_id, "US")
    customer = await find_customer_by_identity(session, claims.workspace_id, key)
    return customer.id if customer is not None else None


async def agents_online(session: AsyncSession, workspace_id: int) -> int:
    """Who could answer now: routing's online agents of the workspace (any team)."""
    query = select(func.count()).select_from(online_agents(workspace_id, None).subquery())
    return int((await session.execute(query)).scalar_one())


async def visitor_state(
    session: AsyncSession, claims: VisitorClaims, now: datetime
) -> dict[str, Any]:
    """What the frame shows besides messages (the session and GET /status): whether anyone
    is online, the visitor's chat and, when there is one, its place in the queue."""
    customer_id = await visitor_customer_id(session, claims)
    conversation_id = (
        await latest_conversation_id(session, claims.workspace_id, customer_id)
        if customer_id is not None
        else None
    )
    queue = (
        await visitor_queue(session, claims, conversation_id, now)
        if conversation_id is not None
        else None
    )
    return {
        "agents_online": await agents_online(session, claims.workspace_id),
        "conversation_id": conversation_id,
        "queue": queue,
    }
