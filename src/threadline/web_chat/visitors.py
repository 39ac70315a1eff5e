"""Web-chat use-cases: widget inboxes, visitor sessions, visitor messages and email, and the
reads behind the visitor's socket. Visitors are never principals: every read here is scoped
to the visitor's own workspace and customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.adapters.db.id_lists import among
from threadline.conversations.receive import ReceivedMessage, receive_message
from threadline.core.lookups import get_scoped
from threadline.core.unit_of_work import UnitOfWork, UnitOfWorkFactory, event_envelope
from threadline.core.views import conversation_view, customer_view
from threadline.customers.resolve import find_customer_by_identity
from threadline.domain.channels import Channel, IdentityKind
from threadline.domain.conversations import Direction
from threadline.domain.customers.identities import normalise_identity
from threadline.domain.errors import DomainError, NotFound
from threadline.domain.events import ConversationUpdated, CustomerUpdated
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.domain.messaging.web_chat import (
    InvalidVisitorToken,
    VisitorClaims,
    WidgetSettings,
    new_public_key,
    new_visitor_id,
    parse_public_key,
    parse_widget_settings,
    read_visitor_token,
    safe_photo_url,
    same_secret,
    sign_visitor_token,
    verify_user_hash,
)
from threadline.domain.security.access import Principal, Role, require_role
from threadline.routing import online_agents, queue_positions

PUBLIC_KEY_SETTING = "widget_public_key"
WIDGET_SETTING = "widget"


# --- Inboxes --------------------------------------------------------------------------------


async def find_widget_inbox(session: AsyncSession, public_key: str) -> t.Inbox:
    """The web-chat inbox a site's embed key names; any mismatch is one "not found"."""
    inbox_id = parse_public_key(public_key)
    inbox = await session.get(t.Inbox, inbox_id) if inbox_id is not None else None
    stored = inbox.settings.get(PUBLIC_KEY_SETTING) if inbox is not None else None
    if (
        inbox is None
        or inbox.channel != Channel.WEB_CHAT.value
        or not isinstance(stored, str)
        or not same_secret(public_key, stored)
    ):
        raise NotFound("no web-chat widget has this key; copy the embed code again")
    return inbox


def widget_settings(inbox: t.Inbox) -> WidgetSettings:
    try:
        return parse_widget_settings(inbox.settings.get(WIDGET_SETTING))
    except DomainError:
        # Settings are validated when written; a hand-edited row falls back to defaults.
        return WidgetSettings()


async def _web_chat_inbox(session: AsyncSession, principal: Principal, inbox_id: int) -> t.Inbox:
    inbox = await get_scoped(session, t.Inbox, principal.workspace_id, inbox_id)
    if inbox.channel != Channel.WEB_CHAT.value:
        raise DomainError(f"inbox {inbox.id} is a {inbox.channel} inbox, not web_chat")
    return inbox


async def widget_admin_view(uow: UnitOfWork, principal: Principal, inbox_id: int) -> dict[str, Any]:
    """The widget's settings and embed key, making the key on first use. Admins only."""
    require_role(principal, Role.ADMIN)
    inbox = await _web_chat_inbox(uow.session, principal, inbox_id)
    key = ensure_public_key(inbox)
    return {
        "inbox_id": inbox.id,
        "public_key": key,
        "settings": widget_settings(inbox).as_dict(),
    }


def ensure_public_key(inbox: t.Inbox) -> str:
    key = inbox.settings.get(PUBLIC_KEY_SETTING)
    if isinstance(key, str) and parse_public_key(key) == inbox.id:
        return key
    key = new_public_key(inbox.id)
    # A new dict, so the JSON column is seen as changed.
    inbox.settings = {**inbox.settings, PUBLIC_KEY_SETTING: key}
    return key


async def update_widget_settings(
    uow: UnitOfWork, principal: Principal, inbox_id: int, raw: dict[str, Any]
) -> dict[str, Any]:
    require_role(principal, Role.ADMIN)
    inbox = await _web_chat_inbox(uow.session, principal, inbox_id)
    parsed = parse_widget_settings(raw)
    key = ensure_public_key(inbox)
    inbox.settings = {**inbox.settings, WIDGET_SETTING: parsed.as_dict()}
    return {"inbox_id": inbox.id, "public_key": key, "settings": parsed.as_dict()}


# --- Sessions -------------------------------------------------------------------------------


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


def _customer_conversations(workspace_id: int, customer_id: int) -> Select[int]:
    """The ids of this customer's conversations: everything a visitor may read is in them."""
    return select(t.Conversation.id).where(
        t.Conversation.workspace_id == workspace_id, t.Conversation.customer_id == customer_id
    )


async def latest_conversation_id(
    session: AsyncSession, workspace_id: int, customer_id: int
) -> int | None:
    found = await session.execute(
        _by_latest(_customer_conversations(workspace_id, customer_id)).limit(1)
    )
    return found.scalar_one_or_none()


def _by_latest(query: Select[int]) -> Select[int]:
    """The visitor's chat is the conversation with the latest message."""
    return query.order_by(t.Conversation.last_message_at.desc(), t.Conversation.id.desc())


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


# --- Messages -------------------------------------------------------------------------------


async def send_visitor_message(
    uow_factory: UnitOfWorkFactory,
    claims: VisitorClaims,
    text: str,
    *,
    name: str | None = None,
    attachments: tuple[dict[str, Any], ...] = (),
) -> ReceivedMessage:
    """The visitor's message goes in the one way every channel does.

    The sender is the visitor's web_visitor identity; a verified host user id rides along
    as an external identity, so the message joins that known customer. An email typed by
    the visitor is never passed here: continuity would join whoever owns that address.
    """
    text = text.strip()
    if not text and not attachments:
        raise DomainError("a message needs some text or a file")
    others = (SenderIdentity(IdentityKind.EXTERNAL, claims.user_id),) if claims.user_id else ()
    return await receive_message(
        uow_factory,
        claims.workspace_id,
        InboundMessage(
            inbox_id=claims.inbox_id,
            channel=Channel.WEB_CHAT,
            sender=SenderIdentity(IdentityKind.WEB_VISITOR, claims.visitor_id),
            other_identities=others,
            sender_name=(name or "").strip() or None,
            text=text,
            attachments=attachments,
        ),
    )


@dataclass(frozen=True, slots=True)
class EmailOutcome:
    email: str
    # attached: the address is now this customer's identity (replies may go by email);
    # already: it was theirs; unverified: another customer owns it, so it is only noted.
    status: str


async def record_visitor_email(
    uow: UnitOfWork, claims: VisitorClaims, customer_id: int, raw_email: str
) -> EmailOutcome:
    """An email the visitor typed (pre-chat form, offline form).

    It is unverified, so it never joins the visitor to an existing customer. It becomes the
    visitor's email identity only when no other customer owns it; otherwise it is kept as an
    attribute for an agent to verify (and merge, audited) before any reply goes there.
    """
    session = uow.session
    ws = claims.workspace_id
    key = normalise_identity(IdentityKind.EMAIL, raw_email, "US")
    customer = await get_scoped(session, t.Customer, ws, customer_id)
    owner = await find_customer_by_identity(session, ws, key)
    now = uow.clock.now()
    if owner is None:
        session.add(
            t.Identity(
                workspace_id=ws,
                customer_id=customer.id,
                kind=IdentityKind.EMAIL.value,
                value=key.value,
                created_at=now,
            )
        )
        status = "attached"
    elif owner.id == customer.id:
        status = "already"
    else:
        status = "unverified"
    customer.attributes = {
        **customer.attributes,
        "web_chat_email": key.value,
        "web_chat_email_status": status,
    }
    customer.updated_at = now
    # Another customer may have been given the address a moment ago.
    await uow.flush_or_conflict(f"the email {key.value} was just given to another customer")
    uow.emit(ws, CustomerUpdated(customer_view(customer)))
    return EmailOutcome(key.value, status)


async def note_offline_follow_up(
    uow: UnitOfWork, claims: VisitorClaims, conversation_id: int, outcome: EmailOutcome
) -> None:
    """Mark the chat as one to continue by email, so agents see why nobody answered live."""
    conversation = await get_scoped(
        uow.session, t.Conversation, claims.workspace_id, conversation_id
    )
    conversation.attributes = {
        **conversation.attributes,
        "web_chat_offline": {
            "email": outcome.email,
            "reply_by_email": outcome.status in {"attached", "already"},
        },
    }
    uow.emit(
        claims.workspace_id,
        ConversationUpdated(conversation_view(conversation), status_changed=False),
    )


async def visitor_queue(
    session: AsyncSession, claims: VisitorClaims, conversation_id: int, now: datetime
) -> dict[str, Any]:
    """Queue position and estimated wait of the visitor's conversation (routing's view)."""
    conversation = await get_scoped(session, t.Conversation, claims.workspace_id, conversation_id)
    agent_id = conversation.assignee_id
    if agent_id is None:
        # Not yet assigned, but an agent has already answered: the visitor is being helped,
        # and a queue position beside that answer would be wrong.
        agent_id = await _latest_answering_agent(session, conversation_id)
    if agent_id is not None:
        card = await agent_card(session, claims.workspace_id, agent_id)
        return {"waiting": False, "position": None, "estimated_wait_seconds": None, "agent": card}
    place = (await queue_positions(session, claims.workspace_id, [conversation], now))[
        conversation.id
    ]
    return {
        "waiting": bool(place["waiting"]),
        "position": place["position"],
        "estimated_wait_seconds": place["estimated_wait_seconds"],
        "agent": None,
    }


async def _latest_answering_agent(session: AsyncSession, conversation_id: int) -> int | None:
    return (
        await session.execute(
            select(t.Message.author_agent_id)
            .where(
                t.Message.conversation_id == conversation_id,
                t.Message.direction == Direction.OUTBOUND.value,
                t.Message.author_agent_id.is_not(None),
            )
            .order_by(t.Message.created_at.desc(), t.Message.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def agent_card(session: AsyncSession, workspace_id: int, agent_id: int) -> dict[str, Any]:
    """What a customer sees of an agent: the name and photo (a default one in the frame)."""
    agent = await session.get(t.Agent, agent_id)
    if agent is None or agent.workspace_id != workspace_id:
        return {"name": None, "photo_url": None}
    return {"name": agent.name, "photo_url": safe_photo_url(agent.photo_url)}


# --- The visitor's event feed ---------------------------------------------------------------


async def customer_conversation_ids(
    session: AsyncSession, workspace_id: int, customer_id: int
) -> list[int]:
    """The customer's conversations, the chat's first (latest_conversation_id's order)."""
    rows = await session.execute(_by_latest(_customer_conversations(workspace_id, customer_id)))
    return [int(i) for i in rows.scalars()]


async def customer_events_between(
    session: AsyncSession,
    workspace_id: int,
    customer_id: int,
    after: int,
    upto: int,
    limit: int,
) -> list[dict[str, Any]]:
    """Events of this customer's conversations with after < seq <= upto, oldest first."""
    # The conversation ids are read first and passed as values: as a subquery, a planner
    # without fresh statistics (a busy new workspace) ran it once per event of the whole
    # workspace (19 s for 6,000 events and 2,000 conversations).
    conversation_ids = list(
        (await session.execute(_customer_conversations(workspace_id, customer_id))).scalars()
    )
    if not conversation_ids:
        return []
    rows = (
        await session.execute(
            select(t.Event)
            .where(
                t.Event.workspace_id == workspace_id,
                t.Event.seq > after,
                t.Event.seq <= upto,
                among(session, t.Event.conversation_id, conversation_ids),
            )
            .order_by(t.Event.seq)
            .limit(limit)
        )
    ).scalars()
    return [event_envelope(workspace_id, row) for row in rows]


async def visitor_may_download(
    session: AsyncSession, workspace_id: int, customer_id: int, sha256: str
) -> str | None:
    """The file's name when a web-chat message of this customer carries it, else None."""
    rows = await session.execute(
        select(t.Message.attachments)
        .join(t.Conversation, t.Conversation.id == t.Message.conversation_id)
        .where(
            t.Message.workspace_id == workspace_id,
            t.Conversation.customer_id == customer_id,
            t.Message.channel == Channel.WEB_CHAT.value,
        )
        .order_by(t.Message.id.desc())
        .limit(2_000)
    )
    for attachments in rows.scalars():
        for item in attachments or []:
            if isinstance(item, dict) and item.get("sha256") == sha256:
                return str(item.get("filename") or "attachment")
    return None
