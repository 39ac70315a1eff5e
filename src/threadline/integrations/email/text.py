"""Text hygiene for mail: charsets that lie, NUL bytes, and HTML turned into plain text."""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser

# Tried in order when the declared charset is missing, unknown or wrong. UTF-8 first because
# a valid UTF-8 byte string is almost never anything else; windows-1252 then catches the
# common "declared us-ascii, written by Outlook" case; latin-1 never fails.
FALLBACK_CHARSETS = ("utf-8", "windows-1252", "latin-1")


def decode_bytes(data: bytes, declared: str | None) -> str:
    candidates: list[str] = []
    if b"\x1b$" in data:
        # ISO-2022-JP escape sequences: Japanese mail whatever the label says.
        candidates.append("iso2022_jp")
    if declared:
        name = declared.strip().strip('"').lower()
        try:
            candidates.append(codecs.lookup(name).name)
        except LookupError:
            pass
    candidates.extend(FALLBACK_CHARSETS)
    for charset in candidates:
        try:
            return clean_text(data.decode(charset))
        except (UnicodeDecodeError, LookupError):
            continue
    return clean_text(data.decode("latin-1"))


def clean_text(value: str) -> str:
    """A string every database accepts: no NUL characters, no lone surrogates.

    The stdlib keeps undecodable header bytes as surrogate escapes; they are turned back
    into bytes and read as UTF-8 (then windows-1252) so names like "Zażółć" survive.
    """
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        try:
            raw = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = value.encode("utf-8", "replace")
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            value = raw.decode("windows-1252", "replace")
    value = value.encode("utf-8", "replace").decode("utf-8")
    return value.replace("\x00", "")


_BLOCK_TAGS = {
    "p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "table", "ul", "ol", "hr", "section", "article",
}  # fmt: skip
_SKIPPED_TAGS = {"script", "style", "head", "title", "template"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.chunks.append(re.sub(r"[ \t\r\n]+", " ", data))


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:
        return re.sub(r"<[^>]*>", " ", html)
    text = "".join(extractor.chunks)
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
