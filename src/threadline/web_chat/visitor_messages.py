"""What a visitor sends: messages, in the one way every channel does, and an email typed in
a form, which is never trusted to say who the visitor is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from threadline.adapters.db import tables as t
from threadline.conversations.receive import ReceivedMessage, receive_message
from threadline.core.lookups import get_scoped
from threadline.core.unit_of_work import UnitOfWork, UnitOfWorkFactory
from threadline.core.views import conversation_view, customer_view
from threadline.customers.identities import find_customer_by_identity, new_identity
from threadline.domain.channels import Channel, IdentityKind
from threadline.domain.customers.identities import normalise_identity
from threadline.domain.errors import DomainError
from threadline.domain.events import ConversationUpdated, CustomerUpdated
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.domain.messaging.web_chat import VisitorClaims


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
        session.add(new_identity(customer, key, now))
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
