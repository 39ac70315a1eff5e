"""IMAP polling against a real Dovecot: each mail in the mailbox becomes one message, is
flagged only once stored, and a poller that died half-way loses and duplicates nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from imap_tools import MailBoxUnencrypted
from sqlalchemy import func, select

from tests.conftest import WorkspaceFixture
from tests.support.dovecot import PASSWORD, Dovecot, running_dovecot
from tests.support.inboxes import set_inbox
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.integrations.email.imap_poller import check_mailbox, poll_all, poll_inbox
from threadline.integrations.email.ingest import ingest_raw_email
from threadline.workspace import inbox_by_id

pytestmark = pytest.mark.anyio

INBOX_ADDRESS = "support@acme.example.com"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


def mail(number: int, sender: str = "jane@customer.example") -> bytes:
    return (
        f"From: Jane Doe <{sender}>\r\n"
        f"To: {INBOX_ADDRESS}\r\n"
        f"Subject: Order question {number}\r\n"
        f"Message-ID: <q{number}@customer.example>\r\n"
        "Date: Mon, 02 Nov 2026 08:00:00 +0000\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"Question number {number}: where is my order?\r\n"
    ).encode()


def question_ids(*numbers: int) -> list[str]:
    """The Message-IDs of `mail(number)` for each number, as stored (without <>)."""
    return [f"q{number}@customer.example" for number in numbers]


def mailbox(dovecot: Dovecot, user: str) -> Any:
    return MailBoxUnencrypted(dovecot.host, dovecot.port).login(user, PASSWORD)


def append(dovecot: Dovecot, user: str, *raws: bytes, folder: str = "INBOX") -> None:
    with mailbox(dovecot, user) as box:
        for raw in raws:
            box.append(raw, folder)


def seen_flags(dovecot: Dovecot, user: str, folder: str = "INBOX") -> dict[str, bool]:
    """Message-ID -> has \\Seen, read without marking anything."""
    with mailbox(dovecot, user) as box:
        box.folder.set(folder)
        return {
            m.headers["message-id"][0].strip("<>"): "\\Seen" in m.flags
            for m in box.fetch(mark_seen=False, headers_only=True)
        }


async def point_inbox_at(
    runtime: Runtime, ws: WorkspaceFixture, dovecot: Dovecot, user: str, **extra: str
) -> int:
    inbox_id = ws.inboxes["email"]
    settings = {
        "imap_host": dovecot.host,
        "imap_port": dovecot.port,
        "imap_username": user,
        "imap_password": PASSWORD,
        "imap_ssl": False,
        **extra,
    }
    async with runtime.sessionmaker() as session:
        await set_inbox(session, inbox_id, address=INBOX_ADDRESS, settings=settings)
        await session.commit()
    return inbox_id


async def stored_ids(runtime: Runtime, ws: WorkspaceFixture) -> list[str]:
    """Provider ids of the inbound email messages stored, one entry per stored row."""
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(t.Message.provider_message_id)
            .where(t.Message.workspace_id == ws.id, t.Message.channel == "email")
            .order_by(t.Message.id)
        )
        return [str(r) for r in rows.scalars()]


async def cursor(runtime: Runtime, inbox_id: int, folder: str = "INBOX") -> t.MailboxCursor:
    async with runtime.sessionmaker() as session:
        row = (
            await session.execute(
                select(t.MailboxCursor).where(
                    t.MailboxCursor.inbox_id == inbox_id, t.MailboxCursor.folder == folder
                )
            )
        ).scalar_one()
        return row


async def test_new_mail_is_stored_once_flagged_seen_and_the_cursor_follows(
    runtime: Runtime, workspace: WorkspaceFixture, dovecot: Dovecot
) -> None:
    user = dovecot.new_user()
    inbox_id = await point_inbox_at(runtime, workspace, dovecot, user)
    append(dovecot, user, mail(1), mail(2), mail(3))
    assert seen_flags(dovecot, user) == dict.fromkeys(question_ids(1, 2, 3), False)

    [report] = await poll_all(runtime)

    assert (report.fetched, report.stored, report.duplicates) == (3, 3, 0)
    assert await stored_ids(runtime, workspace) == question_ids(1, 2, 3)
    assert all(seen_flags(dovecot, user).values())
    position = await cursor(runtime, inbox_id)
    assert position.last_uid == 3 and position.uidvalidity
    # The customer wrote three times about one matter: one conversation, with all three.
    async with runtime.sessionmaker() as session:
        conversations = await session.scalar(
            select(func.count(func.distinct(t.Message.conversation_id))).where(
                t.Message.workspace_id == workspace.id
            )
        )
    assert conversations == 1

    again = await poll_inbox(runtime, inbox_id)
    assert (again.fetched, again.stored) == (0, 0)
    assert len(await stored_ids(runtime, workspace)) == 3

    append(dovecot, user, mail(4))
    later = await poll_inbox(runtime, inbox_id)
    assert (later.fetched, later.stored) == (1, 1)
    assert (await cursor(runtime, inbox_id)).last_uid == 4


async def test_a_poller_that_died_after_storing_loses_and_duplicates_nothing(
    runtime: Runtime, workspace: WorkspaceFixture, dovecot: Dovecot
) -> None:
    user = dovecot.new_user()
    inbox_id = await point_inbox_at(runtime, workspace, dovecot, user)
    append(dovecot, user, mail(1), mail(2), mail(3))

    first = await poll_inbox(runtime, inbox_id, max_messages=1)
    assert (first.stored, first.last_uid) == (1, 1)
    # The poller that took message 2 stored it and died before flagging it and moving the
    # cursor: exactly what ingesting it without the poller leaves behind.
    crashed = await ingest_raw_email(runtime, inbox_id, mail(2))
    assert crashed.stored and not crashed.duplicate
    assert seen_flags(dovecot, user) == {
        "q1@customer.example": True,
        "q2@customer.example": False,
        "q3@customer.example": False,
    }
    assert (await cursor(runtime, inbox_id)).last_uid == 1

    resumed = await poll_inbox(runtime, inbox_id)

    assert (resumed.fetched, resumed.stored, resumed.duplicates) == (2, 1, 1)
    assert await stored_ids(runtime, workspace) == question_ids(1, 2, 3)
    assert all(seen_flags(dovecot, user).values())
    assert (await cursor(runtime, inbox_id)).last_uid == 3


async def test_a_renumbered_folder_starts_over_without_storing_anything_twice(
    runtime: Runtime, workspace: WorkspaceFixture, dovecot: Dovecot
) -> None:
    user = dovecot.new_user()
    with mailbox(dovecot, user) as box:
        box.folder.create("Support")
    inbox_id = await point_inbox_at(
        runtime, workspace, dovecot, user, imap_folder="Support", imap_move_to="Archive"
    )
    with mailbox(dovecot, user) as box:
        box.folder.create("Archive")
    append(dovecot, user, mail(1), mail(2), folder="Support")

    taken = await poll_inbox(runtime, inbox_id)
    assert taken.stored == 2
    # Moved away once stored, rather than flagged.
    assert seen_flags(dovecot, user, "Support") == {}
    assert set(seen_flags(dovecot, user, "Archive")) == {
        "q1@customer.example",
        "q2@customer.example",
    }
    before = await cursor(runtime, inbox_id, "Support")

    # The folder is re-created: the server hands out a new UIDVALIDITY and UIDs from 1.
    with mailbox(dovecot, user) as box:
        box.folder.delete("Support")
        box.folder.create("Support")
    append(dovecot, user, mail(2), mail(3), folder="Support")

    renumbered = await poll_inbox(runtime, inbox_id)

    assert renumbered.uidvalidity_reset
    assert (renumbered.stored, renumbered.duplicates) == (1, 1)
    after = await cursor(runtime, inbox_id, "Support")
    assert after.uidvalidity != before.uidvalidity and after.last_uid == 2
    assert sorted(await stored_ids(runtime, workspace)) == question_ids(1, 2, 3)


async def test_the_consoles_mailbox_check_signs_in_and_reports_the_servers_answer(
    runtime: Runtime, workspace: WorkspaceFixture, dovecot: Dovecot
) -> None:
    append(dovecot, "check", mail(1), mail(2))
    inbox_id = await point_inbox_at(runtime, workspace, dovecot, "check")
    with mailbox(dovecot, "check") as box:
        held = int(box.folder.status("INBOX")["MESSAGES"])
    assert held >= 2
    async with runtime.sessionmaker() as session:
        inbox = await inbox_by_id(session, inbox_id)
    assert inbox is not None
    worked, answer = await check_mailbox(runtime.settings, inbox)
    assert (worked, answer) == (
        True,
        f"signed in to {dovecot.host} as check; INBOX holds {held} messages",
    )

    await point_inbox_at(runtime, workspace, dovecot, "check", imap_password="wrong password")
    async with runtime.sessionmaker() as session:
        inbox = await inbox_by_id(session, inbox_id)
    assert inbox is not None
    worked, answer = await check_mailbox(runtime.settings, inbox)
    assert not worked
    assert "authentication failed" in answer.lower(), answer
    assert "wrong password" not in answer
