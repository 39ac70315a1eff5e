"""Email inboxes as the IMAP poller reads them: which inboxes there are to poll, and how far
the poller has taken in each folder of their mailboxes (`mailbox_cursors`).

The poller works for the installation, not for a signed-in caller: these reads cross
workspaces on purpose, and every cursor row belongs to its inbox's workspace."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from threadline.adapters.db import tables as t
from threadline.core.unit_of_work import UnitOfWork
from threadline.domain.channels import Channel


async def email_inboxes(session: AsyncSession) -> list[t.Inbox]:
    """Every email inbox of the installation (the poller picks those with IMAP settings)."""
    rows = await session.execute(select(t.Inbox).where(t.Inbox.channel == Channel.EMAIL.value))
    return list(rows.scalars().all())


async def inbox_by_id(session: AsyncSession, inbox_id: int) -> t.Inbox | None:
    return await session.get(t.Inbox, inbox_id)


@dataclass(frozen=True, slots=True)
class FolderCursor:
    """Where reading a folder starts: after `last_uid`. `renumbered_from` is the UIDVALIDITY
    the cursor had when the server has since renumbered the folder (then it starts over)."""

    last_uid: int
    renumbered: bool = False
    renumbered_from: int | None = None


async def start_folder(
    uow: UnitOfWork, workspace_id: int, inbox_id: int, folder: str, uidvalidity: int
) -> FolderCursor:
    """The folder's cursor, created at 0 the first time and reset to 0 when UIDVALIDITY
    changed; the caller commits."""
    cursor = await _cursor_row(uow.session, inbox_id, folder)
    if cursor is None:
        uow.session.add(
            t.MailboxCursor(
                workspace_id=workspace_id,
                inbox_id=inbox_id,
                folder=folder,
                uidvalidity=uidvalidity,
                last_uid=0,
                updated_at=uow.clock.now(),
            )
        )
        return FolderCursor(last_uid=0)
    if cursor.uidvalidity != uidvalidity:
        previous = cursor.uidvalidity
        cursor.uidvalidity = uidvalidity
        cursor.last_uid = 0
        cursor.updated_at = uow.clock.now()
        return FolderCursor(last_uid=0, renumbered=True, renumbered_from=previous)
    return FolderCursor(last_uid=cursor.last_uid)


async def advance_folder(uow: UnitOfWork, inbox_id: int, folder: str, uid: int) -> None:
    """The folder's cursor moves past `uid` (never backwards), under a row lock; the caller
    commits."""
    cursor = await _cursor_row(uow.session, inbox_id, folder, lock=True)
    if cursor is not None and uid > cursor.last_uid:
        cursor.last_uid = uid
        cursor.updated_at = uow.clock.now()


async def _cursor_row(
    session: AsyncSession, inbox_id: int, folder: str, *, lock: bool = False
) -> t.MailboxCursor | None:
    query = select(t.MailboxCursor).where(
        t.MailboxCursor.inbox_id == inbox_id, t.MailboxCursor.folder == folder
    )
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()
