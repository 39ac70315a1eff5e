"""The console's "send test mail" for an email channel: a short mail from the channel's
address to the admin, through the relay its replies would use, and the relay's answer."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any

from threadline.config import Settings
from threadline.integrations.email.sender import inbox_relay, relay_answer

SUBJECT = "Threadline test mail"
TEXT = (
    "This mail was sent from the Threadline console to check the email channel {name}: "
    "its replies to customers leave the same way."
)


async def send_test_mail(
    settings: Settings, inbox: Any, recipient: str, now: datetime
) -> tuple[bool, str]:
    """Whether the relay accepted it, and what it answered (or why it was not tried)."""
    if not inbox.address:
        return False, "set the channel's address first: the test mail is sent from it"
    relay = inbox_relay(dict(inbox.settings or {}), inbox.secret, settings)
    if relay is None:
        return False, "no SMTP relay: set smtp_host, or the installation's relay"
    mail = EmailMessage()
    mail["From"] = formataddr((inbox.name, inbox.address))
    mail["To"] = recipient
    mail["Subject"] = SUBJECT
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = make_msgid(domain=inbox.address.rpartition("@")[2] or None)
    mail.set_content(TEXT.format(name=inbox.name))
    failure, answer = await relay_answer(settings, relay, mail, inbox.address, recipient)
    if failure is not None:
        return False, str(getattr(failure, "reason", failure))
    return True, f"{relay.host} accepted it: {answer}".strip()
