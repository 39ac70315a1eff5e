"""The email channel, outbound: an agent's reply leaves as a real mail through an SMTP relay.

Each email inbox may name its own relay in its settings (smtp_host, smtp_port,
smtp_username, smtp_password or the inbox secret, starttls, ssl); inboxes without one use
the process-wide relay (THREADLINE_SMTP_RELAY_*). The mail carries its own Message-ID,
the same on every attempt, which becomes the message's provider id, so the customer's
reply (In-Reply-To / References) threads back to the conversation; Reply-To is the
conversation's own reply address for clients that drop those headers.
An inbox's own smtp_host is a workspace's choice: it is resolved, checked (adapters/egress/)
and connected to at the checked address, TLS verified for the host name; the process-wide
relay is the operator's and is used as configured. See docs/channels/email.md.
"""

from __future__ import annotations

import html
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

import aiosmtplib
import httpx
import nh3

from threadline.adapters.channels.base import (
    OutboundAdapter,
    OutboundEnvelope,
    PermanentFailure,
    RetryableFailure,
    SendResult,
    Sent,
)
from threadline.adapters.egress.resolve import connect_checked
from threadline.config import Settings
from threadline.domain.channels import Channel
from threadline.domain.security.egress import EgressRefused
from threadline.integrations.email.addresses import reply_address, split_address
from threadline.integrations.email.mailbox_settings import setting_port, setting_text

# Mail from an inbox carries this header; inbound mail bearing it for one of our own
# addresses is our own reply coming back round, and is dropped rather than answered.
LOOP_HEADER = "X-Threadline-Loop"
REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|odp)\s*:", re.IGNORECASE)
REASON_CHARS = 300


@dataclass(frozen=True, slots=True)
class SmtpRelay:
    host: str
    port: int
    username: str | None
    # Kept out of repr: a relay may be logged, its password never.
    password: str | None = field(repr=False)
    use_tls: bool
    # True: STARTTLS required; False: never; None: when the server offers it.
    start_tls: bool | None
    timeout: float
    # The inbox's own relay (a workspace's choice, checked) rather than the operator's.
    chosen_by_workspace: bool = False


def relay_for(envelope: OutboundEnvelope, settings: Settings) -> SmtpRelay | None:
    """The inbox's own relay when it names one, else the process-wide relay, else None."""
    return inbox_relay(envelope.inbox_settings, envelope.inbox_secret, settings)


def inbox_relay(
    own: Mapping[str, Any], inbox_secret: str | None, settings: Settings
) -> SmtpRelay | None:
    host = setting_text(own.get("smtp_host"))
    if host:
        username = setting_text(own.get("smtp_username"))
        password = setting_text(own.get("smtp_password")) or (inbox_secret if username else None)
        use_tls = bool(own.get("ssl", False))
        starttls = own.get("starttls")
        return SmtpRelay(
            host=host,
            port=setting_port(own.get("smtp_port"), 465 if use_tls else 587),
            username=username,
            password=password,
            use_tls=use_tls,
            start_tls=None if starttls is None or use_tls else bool(starttls),
            timeout=settings.smtp_timeout_seconds,
            chosen_by_workspace=True,
        )
    if settings.smtp_relay_host:
        return SmtpRelay(
            host=settings.smtp_relay_host,
            port=settings.smtp_relay_port,
            username=settings.smtp_relay_username or None,
            password=settings.smtp_relay_password or None,
            use_tls=False,
            start_tls=settings.smtp_relay_starttls,
            timeout=settings.smtp_timeout_seconds,
        )
    return None


def outbound_message_id(envelope: OutboundEnvelope, domain: str) -> str:
    """Stable across attempts: a retry after a lost answer repeats the same mail, which
    the customer's client shows once, and the id we stored still matches what they got."""
    local = re.sub(r"[^A-Za-z0-9.\-]", "", envelope.idempotency_key) or "reply"
    return f"{local}.{envelope.message_id}@{domain}"


def compose(envelope: OutboundEnvelope, message_id: str) -> EmailMessage:
    """The reply as a MIME message: text/plain with a sanitised text/html alternative."""
    if not envelope.from_address or not envelope.recipient:
        raise ValueError("a reply needs a sender and a recipient address")
    mail = EmailMessage()
    display = setting_text(envelope.inbox_settings.get("display_name")) or envelope.inbox_name or ""
    sender_name = f"{envelope.author_name} via {display}" if envelope.author_name else display
    mail["From"] = (
        formataddr((sender_name, envelope.from_address)) if sender_name else (envelope.from_address)
    )
    mail["To"] = envelope.recipient
    if envelope.inbox_secret:
        mail["Reply-To"] = reply_address(
            envelope.from_address, envelope.conversation_id, envelope.inbox_secret
        )
    mail["Subject"] = reply_subject(envelope.subject, display)
    mail["Date"] = format_datetime(envelope.created_at)
    mail["Message-ID"] = f"<{message_id}>"
    for name in ("In-Reply-To", "References"):
        value = envelope.thread_headers.get(name)
        if value:
            mail[name] = value
    mail[LOOP_HEADER] = envelope.from_address
    mail.set_content(envelope.text)
    mail.add_alternative(text_to_html(envelope.text), subtype="html")
    return mail


def reply_subject(subject: str | None, inbox_display: str) -> str:
    if not subject or not subject.strip():
        return f"Your conversation with {inbox_display}" if inbox_display else "Re:"
    subject = " ".join(subject.split())
    return subject if REPLY_PREFIX.match(subject) else f"Re: {subject}"


def text_to_html(text: str) -> str:
    """Paragraphs and line breaks of the agent's text, escaped, then sanitised by nh3."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    body = "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.splitlines()) + "</p>"
        for p in paragraphs
    )
    return f"<html><body>{nh3.clean(body)}</body></html>"


@dataclass(frozen=True, slots=True)
class _PreparedMail:
    mail: EmailMessage
    message_id: str
    sender: str
    recipient: str
    relay: SmtpRelay


class SmtpEmailAdapter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: OutboundEnvelope) -> SendResult:
        prepared = self._prepared(message)
        if isinstance(prepared, PermanentFailure):
            return prepared
        failure = await self._handed_to_relay(prepared)
        if failure is not None:
            return failure
        return Sent(provider_message_id=prepared.message_id)

    def _prepared(self, message: OutboundEnvelope) -> _PreparedMail | PermanentFailure:
        """The relay, the Message-ID and the mail; or why this reply can never be sent."""
        if not message.from_address or split_address(message.from_address) is None:
            return PermanentFailure(
                f"email inbox {message.inbox_id} has no address to send from; set its address"
            )
        if not message.recipient:
            return PermanentFailure("the customer has no email address to send to")
        relay = relay_for(message, self.settings)
        if relay is None:
            return PermanentFailure(
                f"email inbox {message.inbox_id} has no SMTP relay: set smtp_host in its "
                "settings or THREADLINE_SMTP_RELAY_HOST"
            )
        domain = message.from_address.rpartition("@")[2]
        message_id = outbound_message_id(message, domain)
        try:
            mail = compose(message, message_id)
        except (ValueError, TypeError) as exc:
            return PermanentFailure(f"could not build the mail: {exc}"[:REASON_CHARS])
        return _PreparedMail(mail, message_id, message.from_address, message.recipient, relay)

    async def _handed_to_relay(self, prepared: _PreparedMail) -> SendResult | None:
        return await hand_to_relay(
            self.settings, prepared.relay, prepared.mail, prepared.sender, prepared.recipient
        )


async def hand_to_relay(
    settings: Settings, relay: SmtpRelay, mail: EmailMessage, sender: str, recipient: str
) -> SendResult | None:
    """None once the relay accepted the mail; otherwise the failure, retryable or not."""
    failure, _answer = await relay_answer(settings, relay, mail, sender, recipient)
    return failure


async def relay_answer(
    settings: Settings, relay: SmtpRelay, mail: EmailMessage, sender: str, recipient: str
) -> tuple[SendResult | None, str]:
    """As hand_to_relay, with what the relay answered when it accepted ("2.0.0 Ok: queued")."""
    sock: socket.socket | None = None
    answer = ""
    try:
        if relay.chosen_by_workspace:
            sock = await connect_checked(
                relay.host, relay.port, settings.egress_policy(), timeout_seconds=relay.timeout
            )
        _refusals, answer = await aiosmtplib.send(
            mail,
            sender=sender,
            recipients=[recipient],
            # With a socket, the host is only the name TLS is verified for.
            hostname=relay.host,
            port=None if sock is not None else relay.port,
            sock=sock,
            username=relay.username,
            password=relay.password,
            use_tls=relay.use_tls,
            start_tls=relay.start_tls,
            timeout=relay.timeout,
        )
    except EgressRefused as exc:
        return (PermanentFailure(f"smtp_host refused: {exc.reason}"), "")
    except aiosmtplib.SMTPRecipientsRefused as exc:
        return (_refused(exc.recipients), "")
    except aiosmtplib.SMTPResponseException as exc:
        return (_answered(exc.code, exc.message), "")
    except (aiosmtplib.SMTPTimeoutError, TimeoutError):
        return (RetryableFailure(f"the SMTP relay {relay.host} did not answer in time"), "")
    except aiosmtplib.SMTPNotSupported as exc:
        # E.g. STARTTLS or AUTH required by the settings but not offered: a set-up error.
        return (PermanentFailure(f"the SMTP relay {relay.host}: {exc}"[:REASON_CHARS]), "")
    except (aiosmtplib.SMTPException, OSError) as exc:
        # Connection refused or dropped, DNS failure: the relay may be back soon.
        return (
            RetryableFailure(
                f"could not reach the SMTP relay {relay.host}:{relay.port}: "
                f"{type(exc).__name__}: {exc}"[:REASON_CHARS]
            ),
            "",
        )
    finally:
        if sock is not None:
            sock.close()  # aiosmtplib closed it when it connected; this covers when not
    return None, answer


def _answered(code: int, text: str) -> SendResult:
    reason = f"the SMTP server answered {code} {' '.join(str(text).split())}"[:REASON_CHARS]
    # 4xx: try again later (greylisting, full queue); 5xx: it will never accept this mail.
    if 400 <= code < 500:
        return RetryableFailure(reason)
    return PermanentFailure(reason)


def _refused(recipients: list[aiosmtplib.SMTPRecipientRefused]) -> SendResult:
    if not recipients:
        return RetryableFailure("the SMTP server refused the recipient")
    refusal = recipients[0]
    return _answered(refusal.code, f"{refusal.message} ({refusal.recipient})")


def outbound_adapters(
    settings: Settings, client: httpx.AsyncClient | None
) -> dict[Channel, OutboundAdapter]:
    """Registers the email sender with the outbound worker (entrypoints/outbound_worker.py)."""
    return {Channel.EMAIL: SmtpEmailAdapter(settings)}
