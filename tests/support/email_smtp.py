"""The built-in SMTP server in tests: started on a free port of 127.0.0.1 for a runtime, and
mail handed to it over a real socket as a sending server would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosmtplib

from threadline.bootstrap import Runtime
from threadline.entrypoints.smtp_server import SmtpServerHandle, start_smtp_server


@asynccontextmanager
async def running_smtp_server(
    runtime: Runtime, attachments_dir: Path
) -> AsyncIterator[SmtpServerHandle]:
    """Our SMTP server, keeping the files of the mail it takes in `attachments_dir`."""
    runtime.settings.attachments_dir = str(attachments_dir)
    handle = await start_smtp_server(runtime, host="127.0.0.1", port=0)
    try:
        yield handle
    finally:
        await handle.close()


async def send_mail(
    smtp: SmtpServerHandle, sender: str, recipients: list[str], raw: bytes
) -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
    """One SMTP transaction, without TLS: the recipients refused, and the final answer."""
    async with aiosmtplib.SMTP(hostname=smtp.host, port=smtp.port, start_tls=False) as client:
        return await client.sendmail(sender, recipients, raw)
