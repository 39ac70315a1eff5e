"""IMAP polling: mail that lands in an inbox's mailbox becomes messages, once each.

Per email inbox whose settings name an imap_host (see docs/channels/email.md), one folder
is read by UID. For every new message, in this order:
1. it is fetched (BODY.PEEK, so fetching alone marks nothing) and stored through
   ingest_raw_email, which returns only after the database committed;
2. it is flagged \\Seen, or moved to imap_move_to when configured;
3. the cursor (mailbox_cursors.last_uid) moves past it, in its own commit.
A crash between any two steps repeats the later steps on the next poll and nothing else:
storing the same Message-ID again is a no-op (receive_message is idempotent), flagging
twice is harmless. A changed UIDVALIDITY means the server renumbered the folder: the
cursor starts over and the idempotent store drops whatever was taken in before.

imaplib is blocking, so each IMAP session runs in a worker thread. The imap_host is a
workspace's choice: it is resolved and checked first (adapters/egress/), and the session
connects to the checked address, TLS verified for the host name.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import structlog
from imap_tools.mailbox import BaseMailBox

from threadline.adapters.egress.imap import PinnedMailBox, PinnedMailBoxUnencrypted
from threadline.adapters.egress.resolve import checked_addresses
from threadline.bootstrap import Runtime
from threadline.config import Settings
from threadline.domain.channels import Channel
from threadline.domain.security.egress import EgressRefused
from threadline.integrations.email.ingest import ingest_raw_email
from threadline.integrations.email.mailbox_settings import setting_port, setting_text
from threadline.workspace import advance_folder, email_inboxes, inbox_by_id, start_folder

log = structlog.get_logger(__name__)

DEFAULT_FOLDER = "INBOX"
# Messages taken per folder and round; the rest follow in the next round.
DEFAULT_BATCH = 200
IMAP_TIMEOUT_SECONDS = 30.0
ERROR_PAUSE_SECONDS = 5.0
_FETCHED_UID = re.compile(rb"UID (\d+)")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ImapAccount:
    host: str
    port: int
    username: str
    # Kept out of repr: an account may be logged, its password never.
    password: str = field(repr=False)
    ssl: bool
    folder: str
    move_to: str | None


@dataclass
class PollReport:
    inbox_id: int
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)
    uidvalidity_reset: bool = False
    last_uid: int = 0
    # Why the mailbox was not even connected to (its imap_host is not an allowed address).
    refused: str | None = None


class MailboxSettings(Protocol):
    """What an inbox row tells about its mailbox."""

    @property
    def channel(self) -> str: ...
    @property
    def settings(self) -> dict[str, Any]: ...
    @property
    def secret(self) -> str | None: ...


def imap_account(inbox: MailboxSettings) -> ImapAccount | None:
    """The inbox's IMAP mailbox, or None when it has none configured."""
    settings: dict[str, Any] = inbox.settings or {}
    host = setting_text(settings.get("imap_host"))
    username = setting_text(settings.get("imap_username"))
    password = setting_text(settings.get("imap_password")) or inbox.secret
    if inbox.channel != Channel.EMAIL.value or not host or not username or not password:
        return None
    use_ssl = bool(settings.get("imap_ssl", True))
    return ImapAccount(
        host=host,
        port=setting_port(settings.get("imap_port"), 993 if use_ssl else 143),
        username=username,
        password=password,
        ssl=use_ssl,
        folder=setting_text(settings.get("imap_folder")) or DEFAULT_FOLDER,
        move_to=setting_text(settings.get("imap_move_to")),
    )


class _Mailbox:
    """One logged-in IMAP session on one folder; every method blocks (run it in a thread)."""

    def __init__(self, account: ImapAccount, connect_to: str) -> None:
        self.account = account
        box: BaseMailBox
        if account.ssl:
            box = PinnedMailBox(account.host, account.port, IMAP_TIMEOUT_SECONDS, connect_to)
        else:
            box = PinnedMailBoxUnencrypted(
                account.host, account.port, IMAP_TIMEOUT_SECONDS, connect_to
            )
        self.box = box.login(account.username, account.password, initial_folder=None)
        self.box.folder.set(account.folder)

    def uidvalidity(self) -> int:
        status = self.box.folder.status(self.account.folder, ["UIDVALIDITY"])
        return int(status["UIDVALIDITY"])

    def uids_after(self, last_uid: int) -> list[int]:
        # "n:*" always matches the newest message, even one below n: filter here too.
        found = self.box.uids(f"UID {last_uid + 1}:*")
        return sorted(uid for uid in (int(u) for u in found) if uid > last_uid)

    def fetch_raw(self, uid: int) -> bytes | None:
        """The message's bytes exactly as the server holds them; None if it is gone."""
        status, data = self.box.client.uid("FETCH", str(uid), "(UID BODY.PEEK[])")
        if status != "OK":
            return None
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                match = _FETCHED_UID.search(item[0])
                if match and int(match.group(1)) == uid:
                    return bytes(item[1])
        return None

    def done_with(self, uid: int) -> None:
        if self.account.move_to:
            self.box.move(str(uid), self.account.move_to)
        else:
            self.box.flag(str(uid), "\\Seen", True)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.box.logout()


async def poll_inbox(
    runtime: Runtime, inbox_id: int, *, max_messages: int | None = None
) -> PollReport:
    """Take in what is new in one inbox's IMAP folder; at most `max_messages` this time."""
    report = PollReport(inbox_id=inbox_id)
    async with runtime.sessionmaker() as session:
        inbox = await inbox_by_id(session, inbox_id)
    account = imap_account(inbox) if inbox is not None else None
    if inbox is None or account is None:
        return report
    try:
        addresses = await checked_addresses(
            account.host,
            account.port,
            runtime.settings.egress_policy(),
            timeout_seconds=IMAP_TIMEOUT_SECONDS,
        )
    except EgressRefused as exc:
        report.refused = f"imap_host refused: {exc.reason}"
        log.warning("imap.refused", inbox_id=inbox.id, reason=report.refused)
        return report
    mailbox = await _blocking(_Mailbox, account, str(addresses[0]))
    try:
        uidvalidity = await _blocking(mailbox.uidvalidity)
        last_uid = await _cursor(
            runtime, inbox.workspace_id, inbox.id, account.folder, uidvalidity, report
        )
        report.last_uid = last_uid
        uids = await _blocking(mailbox.uids_after, last_uid)
        limit = DEFAULT_BATCH if max_messages is None else max_messages
        for uid in uids[:limit]:
            raw = await _blocking(mailbox.fetch_raw, uid)
            report.fetched += 1
            if raw is not None:
                result = await ingest_raw_email(runtime, inbox.id, raw)
                if result.rejection:
                    # Refused for good (too large, a loop, no sender): say why and move on,
                    # or the folder would be stuck on it forever.
                    report.rejected.append(result.rejection)
                    log.warning(
                        "imap.rejected", inbox_id=inbox.id, uid=uid, reason=result.rejection
                    )
                elif result.duplicate:
                    report.duplicates += 1
                else:
                    report.stored += 1
                # Only now that the message is stored may the server be told we have it.
                await _blocking(mailbox.done_with, uid)
            await _advance(runtime, inbox.id, account.folder, uid)
            report.last_uid = uid
    finally:
        await _blocking(mailbox.close)
    return report


async def poll_all(runtime: Runtime) -> list[PollReport]:
    """One round over every email inbox with IMAP configured; one failing inbox stops none."""
    async with runtime.sessionmaker() as session:
        inboxes = await email_inboxes(session)
    reports: list[PollReport] = []
    for inbox in inboxes:
        if imap_account(inbox) is None:
            continue
        try:
            reports.append(await poll_inbox(runtime, inbox.id))
        except Exception as exc:
            # Never log the account itself beyond host/user: it carries the password.
            log.warning("imap.poll_failed", inbox_id=inbox.id, error=f"{type(exc).__name__}: {exc}")
    return reports


async def run_imap_poller(runtime: Runtime, *, interval: float | None = None) -> None:
    """Poll every IMAP-configured email inbox forever; inboxes may be configured later."""
    pause = interval if interval is not None else runtime.settings.imap_poll_interval_seconds
    log.info("imap.poller_started", interval_seconds=pause)
    while True:
        try:
            for report in await poll_all(runtime):
                if report.fetched:
                    log.info(
                        "imap.round",
                        inbox_id=report.inbox_id,
                        fetched=report.fetched,
                        stored=report.stored,
                        duplicates=report.duplicates,
                        rejected=len(report.rejected),
                    )
        except Exception:
            log.exception("imap.round_failed")
            await asyncio.sleep(ERROR_PAUSE_SECONDS)
            continue
        await asyncio.sleep(pause)


async def _cursor(
    runtime: Runtime,
    workspace_id: int,
    inbox_id: int,
    folder: str,
    uidvalidity: int,
    report: PollReport,
) -> int:
    """The last UID taken in from this folder; starts over when UIDVALIDITY changed."""
    async with runtime.uow() as uow:
        cursor = await start_folder(uow, workspace_id, inbox_id, folder, uidvalidity)
        if cursor.renumbered:
            log.warning(
                "imap.uidvalidity_changed",
                inbox_id=inbox_id,
                folder=folder,
                old=cursor.renumbered_from,
                new=uidvalidity,
            )
            report.uidvalidity_reset = True
        await uow.commit()
    return cursor.last_uid


async def _advance(runtime: Runtime, inbox_id: int, folder: str, uid: int) -> None:
    async with runtime.uow() as uow:
        await advance_folder(uow, inbox_id, folder, uid)
        await uow.commit()


async def _blocking(call: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(call, *args)


async def check_mailbox(settings: Settings, inbox: MailboxSettings) -> tuple[bool, str]:
    """Sign in to the inbox's mailbox and open its folder, as the poller would: whether it
    worked, and the server's answer (for the console's "check mailbox" button)."""
    account = imap_account(inbox)
    if account is None:
        return False, "set imap_host, imap_username and imap_password first"
    try:
        addresses = await checked_addresses(
            account.host,
            account.port,
            settings.egress_policy(),
            timeout_seconds=IMAP_TIMEOUT_SECONDS,
        )
        mailbox = await _blocking(_Mailbox, account, str(addresses[0]))
    except EgressRefused as exc:
        return False, f"imap_host refused: {exc.reason}"
    except Exception as exc:  # the server's refusal, a timeout, TLS: all shown as they are
        return False, f"{account.host}:{account.port}: {type(exc).__name__}: {exc}"[:300]
    try:
        status = await _blocking(mailbox.box.folder.status, account.folder, ["MESSAGES"])
    except Exception as exc:
        return False, f"{account.folder}: {type(exc).__name__}: {exc}"[:300]
    finally:
        await _blocking(mailbox.close)
    return True, (
        f"signed in to {account.host} as {account.username}; "
        f"{account.folder} holds {int(status['MESSAGES'])} messages"
    )
