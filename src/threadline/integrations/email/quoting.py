"""The customer's own words: the quoted earlier message and the signature cut away.

Only the visible text is cut; the full text is kept beside it. A forwarded message is
kept whole, because there the quoted part is the point of the mail.
"""

from __future__ import annotations

import re

# A line (or two joined lines: clients wrap long attributions) that opens a quoted message.
_QUOTE_HEADERS = [
    re.compile(r"^On\b.{0,300}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^W dniu\b.{0,300}\bpisze:\s*$", re.IGNORECASE),
    re.compile(r"^(Dnia|Użytkownik)\b.{0,300}\b(napisał|napisała|napisał\(a\)):\s*$", re.I),
    re.compile(r"^Am\b.{0,300}\bschrieb\b.{0,200}:\s*$", re.IGNORECASE),
    re.compile(r"^Le\b.{0,300}\ba écrit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^El\b.{0,300}\bescribió:\s*$", re.IGNORECASE),
    re.compile(
        r"^-{2,}\s*(Original Message|Oryginalna wiadomość|Ursprüngliche Nachricht)\s*-{2,}\s*$",
        re.I,
    ),
    re.compile(r"^_{20,}\s*$"),
]
# Outlook's reply header: "From: …" followed closely by "Sent:"/"Date:" and "To:"/"Subject:".
_OUTLOOK_FROM = re.compile(r"^\*?(From|Od|Von|De)\s*:\*?\s", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\*?(Sent|Date|Wysłano|Data|Gesendet|Envoyé)\s*:", re.IGNORECASE)
_FORWARD_MARKERS = re.compile(
    r"^(-{5,}\s*Forwarded message\s*-{5,}|Begin forwarded message:|"
    r"-{5,}\s*Wiadomość przekazana dalej\s*-{5,}|-{3,}\s*Weitergeleitete Nachricht\s*-{3,})",
    re.IGNORECASE | re.MULTILINE,
)
_FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|pd|wg|tr|rv|doorst)\s*:", re.IGNORECASE)
_MOBILE_FOOTER = re.compile(
    r"^(Sent from my .{1,40}|Wysłane z .{1,40}|Wysłano z .{1,40}|Get Outlook for .{1,20})$",
    re.IGNORECASE,
)


def is_forwarded(subject: str | None, text: str) -> bool:
    return bool(_FORWARD_SUBJECT.match(subject or "")) or bool(_FORWARD_MARKERS.search(text))


def _quote_start(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        joined = f"{stripped} {lines[index + 1].strip()}" if index + 1 < len(lines) else stripped
        if any(p.match(stripped) or p.match(joined) for p in _QUOTE_HEADERS):
            return index
        if _OUTLOOK_FROM.match(stripped) and any(
            _OUTLOOK_NEXT.match(following.strip()) for following in lines[index + 1 : index + 4]
        ):
            return index
    return None


def visible_text(full_text: str, *, forwarded: bool) -> str:
    text = full_text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if forwarded or not text:
        return text
    lines = text.split("\n")
    start = _quote_start(lines)
    if start is not None:
        lines = lines[:start]
    # Interleaved answers keep the customer's lines; quoted ones (">") go.
    lines = [line for line in lines if not line.lstrip().startswith(">")]
    for index in range(len(lines) - 1, -1, -1):
        if lines[index] in ("-- ", "--"):
            lines = lines[:index]
            break
    while lines and (not lines[-1].strip() or _MOBILE_FOOTER.match(lines[-1].strip())):
        lines.pop()
    stripped = "\n".join(lines).strip()
    # A reply that is nothing but quote (or a bare signature) still shows something.
    return stripped or text
