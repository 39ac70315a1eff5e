"""Notes on a customer ("has four children"), seen by every agent of the workspace."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.conversations.notifications import notify_mentions
from threadline.core.lookups import customer_rows_newest_first, get_scoped
from threadline.core.unit_of_work import UnitOfWork
from threadline.core.views import note_view
from threadline.domain.errors import DomainError
from threadline.domain.events import NoteCreated
from threadline.domain.security.access import Principal


async def list_notes(session: AsyncSession, principal: Principal, customer_id: int) -> list[t.Note]:
    await get_scoped(session, t.Customer, principal.workspace_id, customer_id)
    return await customer_rows_newest_first(session, t.Note, principal.workspace_id, customer_id)


async def add_note(uow: UnitOfWork, principal: Principal, customer_id: int, text: str) -> t.Note:
    if not text.strip():
        raise DomainError("a note needs some text")
    session = uow.session
    customer = await get_scoped(session, t.Customer, principal.workspace_id, customer_id)
    note = t.Note(
        workspace_id=principal.workspace_id,
        customer_id=customer.id,
        author_agent_id=principal.agent_id,
        text=text.strip(),
        created_at=uow.clock.now(),
    )
    session.add(note)
    await session.flush()
    await notify_mentions(uow, principal, note.text, customer_id=customer.id, note=note)
    uow.emit(principal.workspace_id, NoteCreated(note_view(note)))
    return note
