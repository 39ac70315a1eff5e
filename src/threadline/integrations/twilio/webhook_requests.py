"""A Twilio webhook request: verified against X-Twilio-Signature, its parameters read, and
the TwiML it is answered with."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from fastapi import Request, Response

from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.config import Settings
from threadline.domain.bounds import MAX_COUNT
from threadline.domain.channels import Channel
from threadline.domain.errors import DomainError, Forbidden, NotFound
from threadline.integrations.twilio.signature import validate_form_request, validate_json_request

TWIML_CONTENT_TYPE = "application/xml"
TWILIO_CHANNELS = frozenset({Channel.SMS.value, Channel.VOICE.value, Channel.WHATSAPP.value})


class TwiML(Response):
    media_type = TWIML_CONTENT_TYPE


class MalformedPayload(DomainError):
    status = 400
    title = "Malformed payload"


@dataclass(frozen=True, slots=True)
class TwilioRequest:
    inbox: t.Inbox
    params: dict[str, str]
    # The public URL of this endpoint's folder, for the callbacks our TwiML names.
    base_url: str


def twiml(*verbs: str) -> Response:
    body = '<?xml version="1.0" encoding="UTF-8"?>'
    body += f"<Response>{''.join(verbs)}</Response>" if verbs else "<Response/>"
    return TwiML(body)


def public_url(request: Request, settings: Settings) -> str:
    """The URL Twilio called, as it signed it."""
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    suffix = path + (f"?{query}" if query else "")
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/") + suffix
    if settings.trust_forwarded_headers:
        proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
        host = request.headers.get("x-forwarded-host", "").split(",")[0].strip()
        if proto or host:
            scheme = proto or request.url.scheme
            netloc = host or request.headers.get("host", request.url.netloc)
            return f"{scheme}://{netloc}{suffix}"
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}{suffix}"


async def verified(request: Request, runtime: Runtime, inbox_id: int) -> TwilioRequest:
    """The inbox and the parameters, only once the signature proves Twilio sent them."""
    async with runtime.sessionmaker() as session:
        inbox = await session.get(t.Inbox, inbox_id)
    if inbox is None or inbox.channel not in TWILIO_CHANNELS:
        raise NotFound(f"no Twilio inbox {inbox_id}")
    body = await request.body()
    url = public_url(request, runtime.settings)
    signature = request.headers.get("x-twilio-signature")
    token = inbox.secret or ""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        if not validate_json_request(token, url, body, signature):
            raise Forbidden("the X-Twilio-Signature is missing or does not match this request")
        params = _json_params(body)
    else:
        pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        if not validate_form_request(token, url, pairs, signature):
            raise Forbidden("the X-Twilio-Signature is missing or does not match this request")
        params = {}
        for key, value in pairs:
            params.setdefault(key, value)
    base = urlsplit(url)._replace(query="").geturl().rsplit("/", 1)[0]
    return TwilioRequest(inbox, params, base)


def _json_params(body: bytes) -> dict[str, str]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise MalformedPayload(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedPayload("the JSON body must be an object")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}


def required(params: Mapping[str, str], *names: str) -> list[str]:
    missing = [n for n in names if not params.get(n, "").strip()]
    if missing:
        raise MalformedPayload(f"missing {', '.join(missing)}")
    return [params[n].strip() for n in names]


def optional_int(params: Mapping[str, str], name: str) -> int | None:
    """A count or a duration in seconds, as Twilio sends them."""
    value = params.get(name, "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 12 and int(value) <= MAX_COUNT):
        raise MalformedPayload(f"{name} must be a whole number up to {MAX_COUNT}, not {value!r}")
    return int(value)
