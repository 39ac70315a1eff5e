"""Is this mail written by a machine? Auto-replies, out-of-office notices, bounces, lists.

Such mail is recorded on the customer's matter but never re-opens it, re-routes it or
counts as the customer writing. Each check follows a published convention (RFC 3834
Auto-Submitted, RFC 3464 delivery reports, Precedence) or a very common real-world habit
(Exchange's X-Auto-Response-Suppress, vacation subjects).
"""

from __future__ import annotations

import re

from threadline.integrations.email.parsing import ParsedEmail

LOOP_HEADER = "X-Threadline-Loop"

_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
_DAEMON_LOCAL_PARTS = re.compile(
    r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon|no-?reply|do-?not-?reply)$",
    re.IGNORECASE,
)
_OUT_OF_OFFICE_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[- ]?(reply|response|antwort)|out of (the )?office|"
    r"odpowied[zź] automatyczna|automatyczna odpowied[zź]|nieobecno[sś][cć]|"
    r"abwesenheit|r[ée]ponse automatique|"
    r"undeliverable|undelivered mail|delivery status notification|"
    r"mail delivery failed|returned mail|niedostarczon)",
    re.IGNORECASE,
)


def automated_reason(parsed: ParsedEmail) -> str | None:
    """Why this mail counts as automated, or None for mail a person wrote."""
    auto_submitted = (parsed.header("Auto-Submitted") or "").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted[:50]}"
    for header in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Reply"):
        if parsed.header(header) is not None:
            return f"{header} header"
    precedence = (parsed.header("Precedence") or "").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    content_type = parsed.message.get_content_type()
    if content_type == "multipart/report":
        return "delivery or read report (multipart/report)"
    if parsed.header("X-Failed-Recipients") is not None:
        return "bounce (X-Failed-Recipients)"
    if parsed.from_address:
        local = parsed.from_address.rpartition("@")[0]
        if _DAEMON_LOCAL_PARTS.match(local):
            return f"sent by {local}"
    elif (parsed.header("Return-Path") or "").strip() == "<>":
        return "bounce (empty Return-Path)"
    if parsed.subject and _OUT_OF_OFFICE_SUBJECT.match(parsed.subject):
        return "out-of-office or bounce subject"
    suppress = (parsed.header("X-Auto-Response-Suppress") or "").lower()
    if "oof" in suppress or suppress.strip() == "all":
        return "X-Auto-Response-Suppress"
    return None


def carries_our_loop_marker(parsed: ParsedEmail, inbox_address: str | None, inbox_id: int) -> bool:
    """True when the mail is (a copy of) something this inbox sent: a mail loop."""
    ours = {f"inbox-{inbox_id}"}
    if inbox_address:
        ours.add(inbox_address.strip().lower())
    return any(value.strip().lower() in ours for value in parsed.headers(LOOP_HEADER))


_REPORTED_RECIPIENT = re.compile(
    rb"^(Original|Final)-Recipient:\s*rfc822\s*;\s*<?([^\s<>;]+@[^\s<>;]+)>?", re.I | re.M
)
_REPORTED_MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([^<>\s]+)>", re.I | re.M)


def bounce_details(parsed: ParsedEmail) -> tuple[str | None, list[str]]:
    """For a delivery report: whose address bounced, and the ids of the mail that bounced.

    A bounce is about the customer we wrote to, not about MAILER-DAEMON, so it belongs on
    that customer's conversation (still as automated mail, which re-opens nothing).
    """
    if parsed.message.get_content_type() != "multipart/report":
        return None, []
    recipient: str | None = None
    ids: list[str] = []
    for file in parsed.files:
        if file.content_type == "message/delivery-status":
            found = {
                m.group(1).lower(): m.group(2) for m in _REPORTED_RECIPIENT.finditer(file.data)
            }
            raw = found.get(b"original") or found.get(b"final")
            if raw and recipient is None:
                recipient = raw.decode("utf-8", "replace")
        elif file.content_type in ("message/rfc822", "text/rfc822-headers"):
            ids.extend(
                m.decode("utf-8", "replace") for m in _REPORTED_MESSAGE_ID.findall(file.data)
            )
    return recipient, ids[:10]


_REPORTED_FIELD = re.compile(
    rb"^(Action|Status|Diagnostic-Code):[ \t]*(.*(?:\r?\n[ \t].*)*)", re.I | re.M
)


def bounce_failure(parsed: ParsedEmail) -> str | None:
    """For a delivery report saying delivery failed for good (Action: failed): why, as the
    reporting server put it ("5.1.1: smtp; 550 … User unknown"); None for any other report
    (delayed, delivered, relayed) and for mail that is not one."""
    if parsed.message.get_content_type() != "multipart/report":
        return None
    for file in parsed.files:
        if file.content_type != "message/delivery-status":
            continue
        fields: dict[bytes, str] = {}
        for match in _REPORTED_FIELD.finditer(file.data):
            value = b" ".join(match.group(2).split()).decode("utf-8", "replace")
            fields.setdefault(match.group(1).lower(), value)
        if fields.get(b"action", "").lower() != "failed":
            return None
        status = fields.get(b"status", "")
        diagnostic = fields.get(b"diagnostic-code", "")
        reason = ": ".join(part for part in (status, diagnostic) if part)
        return f"bounced ({reason})"[:500] if reason else "bounced"
    return None
