"""Reading a contact-form submission: a browser's form post (URL-encoded or multipart,
with files) or a JSON object from a site's own script.

Multipart is read with the standard library's MIME parser, so the public form needs no
extra dependency.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

MAX_FIELDS = 50
MAX_FIELD_NAME = 100
MAX_FIELD_VALUE = 10_000
MAX_MESSAGE = 100_000
MAX_FILES = 5
LONG_FIELDS = frozenset({"message"})


class BadSubmission(ValueError):
    """The submission cannot be read; the text says why, for the person who sent it.

    400 when the body cannot be parsed at all, 422 when a field breaks a rule.
    """

    def __init__(self, reason: str, status: int = 422) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True, slots=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Submission:
    fields: dict[str, str]
    files: list[UploadedFile] = field(default_factory=list)
    # A browser form post (answered with pages) rather than JSON (answered with JSON).
    from_browser: bool = True


def is_browser_post(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in {"application/x-www-form-urlencoded", "multipart/form-data"}


def read_submission(content_type: str, body: bytes) -> Submission:
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json":
        return Submission(_json_fields(body), from_browser=False)
    if media == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError as exc:
            raise BadSubmission("the form data is not UTF-8", 400) from exc
        return Submission(_collect(pairs))
    if media == "multipart/form-data":
        return _multipart(content_type, body)
    raise BadSubmission(
        "send the form as application/x-www-form-urlencoded, multipart/form-data "
        "or application/json",
        415,
    )


def _json_fields(body: bytes) -> dict[str, str]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise BadSubmission(f"the body is not valid JSON: {exc}", 400) from exc
    if not isinstance(data, dict):
        raise BadSubmission("the JSON body must be an object of form fields", 400)
    pairs: list[tuple[str, str]] = []
    for name, value in data.items():
        if value is None:
            continue
        if isinstance(value, bool):
            pairs.append((name, "yes" if value else "no"))
        elif isinstance(value, str | int | float):
            pairs.append((name, str(value)))
        elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            pairs.extend((name, str(v)) for v in value)
        else:
            raise BadSubmission(f"the field {name!r} must be text, a number or a list of them")
    return _collect(pairs)


def _collect(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Field values by name; a repeated name (a group of checkboxes) joins its values."""
    fields: dict[str, str] = {}
    for raw_name, value in pairs:
        name = raw_name.strip()
        if not name:
            continue
        if len(name) > MAX_FIELD_NAME:
            raise BadSubmission(f"a field name is longer than {MAX_FIELD_NAME} characters")
        limit = MAX_MESSAGE if name in LONG_FIELDS else MAX_FIELD_VALUE
        if len(value) > limit:
            raise BadSubmission(f"the field {name!r} is longer than {limit} characters")
        fields[name] = f"{fields[name]}, {value}" if fields.get(name) else value
        if len(fields) > MAX_FIELDS:
            raise BadSubmission(f"a form may have at most {MAX_FIELDS} fields")
    return fields


def _multipart(content_type: str, body: bytes) -> Submission:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    parsed = BytesParser(policy=HTTP).parsebytes(head + body)
    if not isinstance(parsed, EmailMessage) or not parsed.is_multipart():
        raise BadSubmission("the multipart form data has no parts (is the boundary right?)", 400)
    pairs: list[tuple[str, str]] = []
    files: list[UploadedFile] = []
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            if not filename and not data:
                continue  # a file input left empty
            if len(files) >= MAX_FILES:
                raise BadSubmission(f"a form may carry at most {MAX_FILES} files")
            files.append(UploadedFile(filename, part.get_content_type(), data))
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            pairs.append((name, data.decode(charset)))
        except (LookupError, UnicodeDecodeError) as exc:
            raise BadSubmission(f"the field {name!r} is not valid {charset} text") from exc
    return Submission(_collect(pairs), files)
