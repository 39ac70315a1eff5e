"""Raw RFC 5322 bytes -> a ParsedEmail, tolerant of everything real mail does wrong.

Nothing in here raises on bad input: broken boundaries, lying charsets, undecodable
base64 and 8-bit headers all degrade to the best text that can be recovered, with the
stdlib's defect notes kept so a human can see what was wrong.
"""

from __future__ import annotations

import email
import email.header
import email.utils
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from typing import Any

import nh3

from threadline.integrations.email.quoting import is_forwarded, visible_text
from threadline.integrations.email.text import clean_text, decode_bytes, html_to_text

MAX_TEXT_CHARS = 200_000
MAX_FULL_TEXT_CHARS = 1_000_000
MAX_PARTS = 500
MAX_DEPTH = 30

_SAFE_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True, slots=True)
class EmailFile:
    """An attachment or inline image, still in memory; stored only once the mail is accepted."""

    data: bytes
    filename: str | None
    content_type: str
    inline: bool = False
    content_id: str | None = None


@dataclass
class ParsedEmail:
    message: Message
    message_id: str | None
    from_address: str | None
    from_name: str | None
    reply_to: list[str]
    to: list[str]
    cc: list[str]
    subject: str | None
    date: str | None
    in_reply_to: list[str]
    references: list[str]
    full_text: str
    text: str
    html: str | None
    forwarded: bool
    files: list[EmailFile] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        return header_value(self.message, name)

    def headers(self, name: str) -> list[str]:
        return header_values(self.message, name)


def _decode_header_text(raw: str) -> str:
    try:
        decoded = str(email.header.make_header(email.header.decode_header(raw)))
    except Exception:
        decoded = raw
    return clean_text(decoded)


def header_values(message: Message, name: str) -> list[str]:
    """Every value of a header as readable text, whatever the policy thinks of it."""
    values: list[str] = []
    try:
        found = message.get_all(name) or []
    except Exception:
        found = [value for key, value in message.raw_items() if key.lower() == name.lower()]
    for value in found:
        try:
            text = str(value)
        except Exception:
            text = _decode_header_text(getattr(value, "_raw", "") or "")
        # Headers the parser could not fully decode keep encoded words; decode them here.
        if "=?" in text:
            text = _decode_header_text(text)
        values.append(clean_text(re.sub(r"[\r\n]+[ \t]*", " ", text)).strip())
    return values


def header_value(message: Message, name: str) -> str | None:
    values = header_values(message, name)
    return values[0] if values else None


def _addresses(message: Message, *names: str) -> list[tuple[str, str]]:
    raw = [value for name in names for value in header_values(message, name)]
    try:
        pairs = email.utils.getaddresses(raw)
    except Exception:
        pairs = []
    found: list[tuple[str, str]] = []
    for display, address in pairs:
        address = address.strip()
        if "@" in address and " " not in address:
            found.append((display.strip(), address))
    return found


def message_ids(value: str | None) -> list[str]:
    """Message ids without their angle brackets; a bare id without brackets is accepted."""
    if not value:
        return []
    ids = _MESSAGE_ID.findall(value)
    if not ids and "@" in value and " " not in value.strip():
        ids = [value.strip()]
    return [i[:300] for i in ids]


def sanitise_html(html: str) -> str:
    return nh3.clean(
        html,
        url_schemes=_SAFE_URL_SCHEMES,
        clean_content_tags={"script", "style", "title", "head"},
    )


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    return clean_text(_decode_header_text(name)) if name else None


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _payload_bytes(part: Message) -> bytes:
    """The decoded body of a leaf part; embedded messages are re-serialised."""
    if part.is_multipart() or _content_type(part).startswith("message/"):
        payload = part.get_payload()
        chunks: list[bytes] = []
        for inner in payload if isinstance(payload, list) else [payload]:
            try:
                if isinstance(inner, Message):
                    chunks.append(inner.as_bytes(policy=policy.compat32))
                elif isinstance(inner, str):
                    chunks.append(inner.encode("utf-8", "surrogateescape"))
            except Exception:
                chunks.append(str(inner).encode("utf-8", "replace"))
        return b"\n".join(chunks)
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _part_text(part: Message) -> str:
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return decode_bytes(_payload_bytes(part), charset)


@dataclass
class _Walk:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    files: list[EmailFile] = field(default_factory=list)
    parts_seen: int = 0


def _walk(part: Message, walk: _Walk, *, depth: int, in_related: bool) -> None:
    walk.parts_seen += 1
    if walk.parts_seen > MAX_PARTS or depth > MAX_DEPTH:
        return
    content_type = _content_type(part)
    if part.is_multipart() and not content_type.startswith("message/"):
        payload = part.get_payload()
        if not isinstance(payload, list):
            return
        children = [child for child in payload if isinstance(child, Message)]
        if content_type == "multipart/alternative":
            # One body in several renderings: take the last plain and the last html. A
            # part with a filename is a file, not a rendering of the body.
            bodies = [c for c in children if _filename(c) is None]
            texts = [c for c in bodies if _content_type(c) == "text/plain"]
            htmls = [c for c in bodies if _content_type(c) == "text/html"]
            if texts:
                walk.plain.append(_part_text(texts[-1]))
            if htmls:
                walk.html.append(_part_text(htmls[-1]))
            chosen = {id(c) for c in (*texts, *htmls)}
            others = [c for c in children if id(c) not in chosen]
            for child in others:
                _walk(child, walk, depth=depth + 1, in_related=in_related)
            return
        related = content_type == "multipart/related"
        for child in children:
            _walk(child, walk, depth=depth + 1, in_related=related or in_related)
        return

    disposition = _disposition(part)
    filename = _filename(part)
    # A text part is the body unless it is marked as an attachment or has a filename
    # (Content-Disposition filename or Content-Type name): mail clients attach .txt and
    # .html files "inline; filename=…", and those are the customer's files, not their words.
    if content_type in ("text/plain", "text/html") and disposition != "attachment" and not filename:
        (walk.plain if content_type == "text/plain" else walk.html).append(_part_text(part))
        return
    content_id = header_value(part, "Content-ID")
    inline = (
        bool(content_id) and disposition != "attachment" and (in_related or disposition == "inline")
    )
    if filename is None:
        filename = _default_filename(part, content_type)
    walk.files.append(
        EmailFile(
            data=_payload_bytes(part),
            filename=filename,
            content_type=clean_text(content_type),
            inline=inline,
            content_id=(content_id or "").strip("<> ")[:300] or None,
        )
    )


def _default_filename(part: Message, content_type: str) -> str:
    if content_type == "message/rfc822":
        inner = part.get_payload()
        subject = None
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            subject = header_value(inner[0], "Subject")
        return f"{subject or 'forwarded message'}.eml"
    if content_type == "text/calendar":
        return "invite.ics"
    if content_type == "message/delivery-status":
        return "delivery-status.txt"
    if content_type == "text/rfc822-headers":
        return "original-headers.txt"
    extension = content_type.rsplit("/", 1)[-1].split("+")[0][:10]
    return f"attachment.{extension}"


def parse_email(raw: bytes) -> ParsedEmail:
    walk = _Walk()
    defects: list[str] = []
    try:
        # Hundreds of nested multiparts cost the stdlib parser seconds before it gives up on
        # recursion; no real mail has that many, so such input goes straight to headers only.
        if raw.lower().count(b"content-type: multipart/") > MAX_PARTS:
            raise RecursionError("too many multipart containers")
        message: Message = email.message_from_bytes(raw, _class=EmailMessage, policy=policy.default)
    except RecursionError:
        # Thousands of nested multiparts exhaust the stdlib parser; the headers still name
        # the sender, and the original file keeps the rest.
        message = BytesHeaderParser(_class=EmailMessage, policy=policy.default).parsebytes(raw)
        defects.append("MessageTooDeeplyNested")
    else:
        try:
            _walk(message, walk, depth=0, in_related=False)
            for part in message.walk() if walk.parts_seen <= MAX_PARTS else []:
                defects.extend(type(d).__name__ for d in getattr(part, "defects", []))
        except RecursionError:
            defects.append("MessageTooDeeplyNested")

    html_source = "\n".join(h for h in walk.html if h.strip())
    full_text = "\n\n".join(t.strip("\n") for t in walk.plain if t.strip())
    if not full_text.strip() and html_source:
        full_text = html_to_text(html_source)
    full_text = clean_text(full_text)[:MAX_FULL_TEXT_CHARS]
    subject = header_value(message, "Subject")
    forwarded = is_forwarded(subject, full_text)

    senders = _addresses(message, "From") or _addresses(message, "Sender")
    from_name, from_address = senders[0] if senders else (None, None)

    defects.extend(type(d).__name__ for d in getattr(message, "defects", []))

    return ParsedEmail(
        message=message,
        message_id=next(iter(message_ids(header_value(message, "Message-ID"))), None),
        from_address=from_address,
        from_name=from_name or None,
        reply_to=[a for _, a in _addresses(message, "Reply-To")],
        to=[a for _, a in _addresses(message, "To")],
        cc=[a for _, a in _addresses(message, "Cc")],
        subject=(subject or None) and subject[:500],
        date=header_value(message, "Date"),
        in_reply_to=message_ids(header_value(message, "In-Reply-To")),
        references=[i for v in header_values(message, "References") for i in message_ids(v)],
        full_text=full_text,
        text=visible_text(full_text, forwarded=forwarded)[:MAX_TEXT_CHARS],
        html=clean_text(sanitise_html(html_source)) if html_source.strip() else None,
        forwarded=forwarded,
        files=walk.files,
        defects=sorted(set(defects))[:30],
    )


def describe(parsed: ParsedEmail) -> dict[str, Any]:
    """What is kept in message.meta["email"]: the headers a human looks at, and the full text."""
    return {
        "message_id": parsed.message_id,
        "from": parsed.from_address,
        "from_name": parsed.from_name,
        "reply_to": parsed.reply_to[:20],
        "to": parsed.to[:50],
        "cc": parsed.cc[:50],
        "subject": parsed.subject,
        "date": parsed.date,
        "in_reply_to": parsed.in_reply_to[:20],
        "references": parsed.references[-50:],
        "forwarded": parsed.forwarded,
        "full_text": parsed.full_text,
        "defects": parsed.defects,
    }
