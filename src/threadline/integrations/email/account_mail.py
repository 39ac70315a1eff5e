"""Mail about an agent's account: the invitation to join and the password reset link. It
leaves through the workspace's relay (its first email inbox with one, else the
installation's), from that inbox's address, in the language of the admin or visitor who
asked for it. The relay's real answer is what the console shows when it refuses."""

from __future__ import annotations

import json
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from importlib import resources
from typing import Any

from threadline.adapters.channels.base import PermanentFailure, RetryableFailure
from threadline.config import Settings
from threadline.integrations.email.sender import hand_to_relay, inbox_relay
from threadline.workspace import IssuedLink

# The mail's subject and text in each language an agent may use: {"en": {"invite.subject":
# ..., "invite.body": ...}, ...}. Kept as data beside this module, like the app's catalogues.
TEXTS: dict[str, dict[str, str]] = json.loads(
    resources.files(__package__).joinpath("account_mail.json").read_text(encoding="utf-8")
)


def link_url(base_url: str, link: IssuedLink) -> str:
    path = "join" if link.is_invitation else "reset"
    return f"{base_url.rstrip('/')}/app/{path}/{link.token}"


def compose_link_mail(
    link: IssuedLink, sender: str, url: str, language: str, now: datetime
) -> EmailMessage:
    texts = TEXTS.get(language) or TEXTS["en"]
    values = {
        "name": link.agent_name,
        "workspace": link.workspace_name,
        "url": url,
        "until": link.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
    }
    mail = EmailMessage()
    mail["From"] = formataddr((link.workspace_name, sender))
    mail["To"] = formataddr((link.agent_name, link.agent_email))
    mail["Subject"] = texts[f"{link.purpose}.subject"].format(**values)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail.set_content(texts[f"{link.purpose}.body"].format(**values))
    return mail


async def mail_link(
    settings: Settings,
    inbox: Any,
    link: IssuedLink,
    url: str,
    language: str,
    now: datetime,
) -> str | None:
    """None once the relay took the mail; otherwise why it was not sent. `inbox` is the
    workspace's mail-sending inbox (workspace.mail_sending_inbox), or None."""
    own = dict(inbox.settings or {}) if inbox is not None else {}
    relay = inbox_relay(own, inbox.secret if inbox is not None else None, settings)
    sender = (inbox.address if inbox is not None else None) or settings.account_mail_from
    if relay is None or not sender:
        return (
            "there is no mail relay to send it with: connect an email channel with its SMTP "
            "relay, or copy the link below and send it yourself"
        )
    mail = compose_link_mail(link, sender, url, language, now)
    failure = await hand_to_relay(settings, relay, mail, sender, link.agent_email)
    if isinstance(failure, PermanentFailure | RetryableFailure):
        return failure.reason
    return None
