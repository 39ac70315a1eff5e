"""The built-in inbound SMTP server: point an MX record or a forwarding rule here.

It runs on the application's own event loop (not aiosmtpd's threaded Controller) so it
shares the runtime's database engine. Unknown recipients are refused at RCPT time; the
250 after DATA is sent only once ingest_raw_email has committed the message.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session

from threadline.bootstrap import Runtime
from threadline.integrations.email.ingest import IngestResult, ingest_raw_email
from threadline.workspace import email_inbox_for

log = structlog.get_logger(__name__)


def _one_line(reason: str) -> str:
    """An SMTP reply text: one printable ASCII line of sensible length."""
    flat = " ".join(reason.split())
    return flat.encode("ascii", "replace").decode("ascii")[:300]


class InboundMailHandler:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def inbox_for(self, address: str) -> int | None:
        """The email inbox this address (or its +subaddress form) belongs to."""
        async with self.runtime.sessionmaker() as session:
            return await email_inbox_for(session, address)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if await self.inbox_for(address) is None:
            return f"550 5.1.1 <{_one_line(address)}>: no Threadline inbox has this address"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if not isinstance(raw, bytes):
            return "554 5.6.0 no message data"
        recipients_by_inbox: dict[int, list[str]] = {}
        for recipient in envelope.rcpt_tos:
            inbox_id = await self.inbox_for(recipient)
            if inbox_id is not None:
                recipients_by_inbox.setdefault(inbox_id, []).append(recipient)
        if not recipients_by_inbox:
            return "554 5.1.1 none of the recipients is a Threadline inbox any more"
        results: list[IngestResult] = []
        for inbox_id, recipients in recipients_by_inbox.items():
            try:
                results.append(
                    await ingest_raw_email(
                        self.runtime,
                        inbox_id,
                        raw,
                        envelope_recipients=recipients,
                        envelope_sender=envelope.mail_from or None,
                    )
                )
            except Exception:
                # Nothing is acknowledged unless stored: the sending server will try again.
                log.exception("smtp.ingest_failed", inbox_id=inbox_id)
                return "451 4.3.0 the message could not be stored now; please try again later"
        rejected = [r.rejection for r in results if r.rejection]
        if rejected:
            reason = rejected[0]
            code = "552 5.3.4" if "limit is" in reason else "550 5.6.0"
            return f"{code} {_one_line(reason)}"
        duplicate = all(r.duplicate for r in results)
        return "250 2.0.0 OK: already stored" if duplicate else "250 2.0.0 OK: stored"


@dataclass
class SmtpServerHandle:
    host: str
    port: int
    close: Callable[[], Awaitable[None]]


async def start_smtp_server(
    runtime: Runtime, *, host: str | None = None, port: int | None = None
) -> SmtpServerHandle:
    """Listen on settings.smtp_host:smtp_port (port 0 picks a free one); returns a stopper."""
    settings = runtime.settings
    handler = InboundMailHandler(runtime)
    hostname = socket.gethostname()

    def protocol() -> SMTP:
        return SMTP(
            handler,
            data_size_limit=settings.smtp_max_message_bytes,
            enable_SMTPUTF8=True,
            hostname=hostname,
            ident="Threadline ESMTP",
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        protocol,
        host=host if host is not None else settings.smtp_host,
        port=port if port is not None else settings.smtp_port,
    )
    bound: Any = server.sockets[0].getsockname()
    log.info("smtp.listening", host=bound[0], port=bound[1])

    async def close() -> None:
        server.close()
        await server.wait_closed()

    return SmtpServerHandle(host=str(bound[0]), port=int(bound[1]), close=close)


async def run_smtp_server(runtime: Runtime) -> None:
    """Serve until cancelled (a background task of `threadline serve`)."""
    handle = await start_smtp_server(runtime)
    try:
        await asyncio.Event().wait()
    finally:
        await handle.close()
