"""An email address names one inbox in the whole installation.

An inbox takes an address only on a domain its workspace may use (workspace/email_domains.py)
and only when no other inbox has it; the unique index `uq_inboxes_email_address` holds the
line when two admins try at the same moment. The inbound SMTP server finds a recipient's
inbox through that index, one query per recipient.
"""

from __future__ import annotations

from sqlalchemy import func, literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.lookups import name_taken
from threadline.domain.channels import Channel
from threadline.domain.errors import Conflict
from threadline.domain.messaging.inbox_addresses import (
    normalise_inbox_address,
    recipient_inbox_address,
)
from threadline.workspace.email_domains import require_domain_allowed

# A literal, not a bound parameter: only then can SQLite and PostgreSQL prove the query
# lies within the partial index (WHERE channel = 'email').
_IS_EMAIL_INBOX = t.Inbox.channel == literal_column(f"'{Channel.EMAIL.value}'")


async def email_inbox_for(session: AsyncSession, recipient: str) -> int | None:
    """The email inbox a recipient (the address or a `+subaddress` form of it) belongs to."""
    address = recipient_inbox_address(recipient)
    if address is None:
        return None
    found = await session.execute(
        select(t.Inbox.id).where(_IS_EMAIL_INBOX, func.lower(t.Inbox.address) == address)
    )
    inbox_id = found.scalar_one_or_none()
    return int(inbox_id) if inbox_id is not None else None


async def _holder(session: AsyncSession, address: str, inbox_id: int | None) -> t.Inbox | None:
    query = select(t.Inbox).where(_IS_EMAIL_INBOX, func.lower(t.Inbox.address) == address)
    if inbox_id is not None:
        query = query.where(t.Inbox.id != inbox_id)
    return (await session.execute(query)).scalars().first()


def _taken(address: str, holder: t.Inbox, workspace_id: int) -> Conflict:
    if holder.workspace_id == workspace_id:
        return Conflict(f"the address {address} belongs to the inbox {holder.name!r} already")
    return Conflict(
        f"the address {address} belongs to an inbox of another workspace of this installation;"
        " an email address can be the address of one inbox only"
    )


async def claim_email_address(
    session: AsyncSession, workspace_id: int, raw: str, *, inbox_id: int | None = None
) -> str:
    """The normalised address for an email inbox of the workspace (`inbox_id` when it exists
    already), after checking its domain is the workspace's and no other inbox has it."""
    address = normalise_inbox_address(raw)
    await require_domain_allowed(session, workspace_id, address)
    holder = await _holder(session, address, inbox_id)
    if holder is not None:
        raise _taken(address, holder, workspace_id)
    return address


async def save_inbox(session: AsyncSession, inbox: t.Inbox) -> None:
    """Flush a new or changed inbox; an inbox with the same name in the workspace or the
    same email address, saved by someone else meanwhile, makes it a 409 with the reason."""
    # Read now: the rollback below expires the row.
    wanted = (inbox.id, inbox.workspace_id, inbox.name, inbox.channel, inbox.address)
    try:
        await session.flush()
    except IntegrityError as exc:
        # The use-case fails either way; a fresh transaction can see who holds the name or
        # address (committed by the other writer).
        await session.rollback()
        reason = await _clash(session, *wanted)
        if reason is None:
            raise
        raise reason from exc


async def _clash(
    session: AsyncSession,
    inbox_id: int | None,
    workspace_id: int,
    name: str,
    channel: str,
    address: str | None,
) -> Conflict | None:
    if channel == Channel.EMAIL.value and address:
        holder = await _holder(session, address.lower(), inbox_id)
        if holder is not None:
            return _taken(address, holder, workspace_id)
    if await name_taken(session, t.Inbox, workspace_id, name, inbox_id):
        return Conflict(f"an inbox named {name!r} exists already in this workspace")
    return None
