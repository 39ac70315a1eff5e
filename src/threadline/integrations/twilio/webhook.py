"""Twilio webhooks: inbound SMS/MMS, message status, voice calls, call status, recordings.

Configure them per phone number in the Twilio console (see docs/channels/sms.md and
docs/channels/voice.md). Every request must carry a valid X-Twilio-Signature made with
the inbox's auth token; anything else is refused with 403 before it is read.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape, quoteattr

import httpx
import structlog
from fastapi import APIRouter, Request, Response

from threadline.adapters.attachments import store_attachment
from threadline.adapters.db import tables as t
from threadline.adapters.egress.http import checked_client
from threadline.bootstrap import Runtime
from threadline.config import Settings
from threadline.conversations.calls import (
    KNOWN_STATUSES,
    CallDirection,
    CallEvent,
    record_call_event,
)
from threadline.conversations.receive import receive_message
from threadline.delivery.status import apply_delivery_report
from threadline.domain.bounds import MAX_COUNT, MAX_SECONDS
from threadline.domain.channels import Channel, IdentityKind
from threadline.domain.conversations import DeliveryStatus
from threadline.domain.errors import DomainError, Forbidden, NotFound
from threadline.domain.inbound import InboundMessage, SenderIdentity
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import RowId
from threadline.integrations.twilio.sender import CALLBACK_KEY_PARAMETER
from threadline.integrations.twilio.signature import validate_form_request, validate_json_request

log = structlog.get_logger(__name__)
TWIML_CONTENT_TYPE = "application/xml"


class TwiML(Response):
    media_type = TWIML_CONTENT_TYPE


router = APIRouter(
    prefix="/webhooks/twilio",
    tags=["webhooks: twilio"],
    # Answered with TwiML; refused 403 unless X-Twilio-Signature proves Twilio sent it.
    default_response_class=TwiML,
    responses=problem_responses(400, 403, 413),
)

TWILIO_CHANNELS = frozenset({Channel.SMS.value, Channel.VOICE.value, Channel.WHATSAPP.value})
MAX_MEDIA = 10
# MessageStatus values of our replies. Twilio having accepted it (accepted, scheduled,
# queued, sending) is what we call sent; receiving and received are about inbound messages.
_MESSAGE_STATUS = {
    "accepted": DeliveryStatus.SENT,
    "scheduled": DeliveryStatus.SENT,
    "queued": DeliveryStatus.SENT,
    "sending": DeliveryStatus.SENT,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}
# The common delivery errors, so the agent reads more than a number.
_ERROR_TEXT = {
    "21211": "invalid 'To' phone number",
    "21610": "the recipient has opted out (STOP)",
    "21614": "the number cannot receive SMS",
    "30003": "unreachable destination handset",
    "30004": "message blocked",
    "30005": "unknown destination handset",
    "30006": "landline or unreachable carrier",
    "30007": "message filtered by the carrier",
    "30008": "unknown error",
}
_DIAL_ANSWERED = frozenset({"completed", "answered"})
_DIAL_MISSED = frozenset({"busy", "no-answer", "failed", "canceled"})
_QUEUE_MISSED = frozenset({"hangup", "leave", "queue-full", "error", "system-shutdown"})


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


# --- SMS / MMS ---------------------------------------------------------------------------


@router.post("/{inbox_id}/sms")
async def inbound_sms(inbox_id: RowId, request: Request, runtime: RuntimeDep) -> Response:
    """An SMS/MMS to the inbox's number; answered only after it is stored."""
    hook = await verified(request, runtime, inbox_id)
    params = hook.params
    sid = (params.get("MessageSid") or params.get("SmsMessageSid") or "").strip()
    if not sid:
        raise MalformedPayload("missing MessageSid")
    sender, _to = required(params, "From", "To")
    channel = Channel.SMS
    if sender.startswith("whatsapp:"):
        # The same webhook serves a Twilio WhatsApp sender; the customer stays one person.
        sender, channel = sender.removeprefix("whatsapp:"), Channel.WHATSAPP
    media_count = optional_int(params, "NumMedia") or 0
    if not 0 <= media_count <= MAX_MEDIA:
        raise MalformedPayload(f"NumMedia must be between 0 and {MAX_MEDIA}")
    media = [
        (required(params, f"MediaUrl{i}")[0], params.get(f"MediaContentType{i}"))
        for i in range(media_count)
    ]
    attachments = [
        await _fetch_media(runtime.settings, hook.inbox, url, content_type)
        for url, content_type in media
    ]
    await receive_message(
        runtime.uow,
        hook.inbox.workspace_id,
        InboundMessage(
            inbox_id=hook.inbox.id,
            sender=SenderIdentity(IdentityKind.PHONE, sender),
            channel=channel,
            text=params.get("Body", ""),
            attachments=tuple(attachments),
            provider_message_id=sid,
            meta={"to": params.get("To"), "provider": "twilio"},
        ),
    )
    return twiml()


async def _fetch_media(
    settings: Settings, inbox: t.Inbox, url: str, content_type: str | None
) -> dict[str, Any]:
    """Download one MMS file with the account's credentials and keep it; a file that
    cannot be fetched is noted on the message rather than losing the whole message."""
    account_sid = inbox.settings.get("account_sid")
    auth = (
        httpx.BasicAuth(account_sid, inbox.secret)
        if isinstance(account_sid, str) and account_sid and inbox.secret
        else None
    )
    try:
        # The URL comes from the payload: fetched by the checking client, each redirect hop
        # (Twilio's media redirect to its storage) checked again.
        async with checked_client(
            settings.egress_policy(), settings.outbound_timeout_seconds, follow_redirects=True
        ) as client:
            response = await client.get(url, auth=auth) if auth else await client.get(url)
        response.raise_for_status()
        if len(response.content) > settings.max_attachment_bytes:
            raise DomainError(f"{len(response.content)} bytes is over the attachment limit")
        media_type = content_type or response.headers.get("content-type")
        extension = mimetypes.guess_extension((media_type or "").split(";")[0]) or ""
        name = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1] + extension
        stored = store_attachment(
            settings, inbox.workspace_id, response.content, filename=name, content_type=media_type
        )
        return {**stored, "source_url": url}
    except (httpx.HTTPError, DomainError) as exc:
        log.warning("twilio.media_fetch_failed", url=url, error=str(exc))
        return {
            "source_url": url,
            "content_type": content_type,
            "error": f"could not fetch the file: {exc}"[:500],
        }


@router.post("/{inbox_id}/sms-status")
async def sms_status(inbox_id: RowId, request: Request, runtime: RuntimeDep) -> Response:
    """What became of an SMS we sent (MessageStatus), applied to our outbound message.

    The StatusCallback URL we gave Twilio carries the send job's key (`?key=`), so the
    callback names our message even when we never heard Twilio's answer to the send."""
    hook = await verified(request, runtime, inbox_id)
    sid, status = required(hook.params, "MessageSid", "MessageStatus")
    new_status = _MESSAGE_STATUS.get(status.lower())
    if new_status is None:
        return twiml()
    async with runtime.uow() as uow:
        message_id = await apply_delivery_report(
            uow,
            hook.inbox.workspace_id,
            sid,
            new_status.value,
            _failure_reason(hook.params, status),
            inbox_id=hook.inbox.id,
            key=request.query_params.get(CALLBACK_KEY_PARAMETER) or None,
        )
        if message_id is None:
            # Not ours (sent from the console, or long gone): nothing to update.
            log.info("twilio.status_for_unknown_message", message_sid=sid, status=status)
            return twiml()
        await uow.commit()
    return twiml()


def _failure_reason(params: Mapping[str, str], status: str) -> str | None:
    if _MESSAGE_STATUS.get(status.lower()) is not DeliveryStatus.FAILED:
        return None
    code = params.get("ErrorCode", "").strip()
    reason = f"Twilio reported the SMS {status.lower()}"
    if code:
        reason += f": error {code}"
        if code in _ERROR_TEXT:
            reason += f" ({_ERROR_TEXT[code]})"
    if params.get("ErrorMessage"):
        reason += f": {params['ErrorMessage']}"
    return reason


# --- Voice ---------------------------------------------------------------------------------


def _direction(params: Mapping[str, str]) -> CallDirection | None:
    value = params.get("Direction", "").strip().lower()
    if not value:
        return None
    return CallDirection.OUTBOUND if value.startswith("outbound") else CallDirection.INBOUND


def _call_status(params: Mapping[str, str]) -> str | None:
    status = params.get("CallStatus", "").strip().lower() or None
    if status is not None and status not in KNOWN_STATUSES:
        raise MalformedPayload(f"unknown CallStatus {status!r}")
    return status


def _call_event(hook: TwilioRequest, **extra: Any) -> CallEvent:
    params = hook.params
    (call_sid,) = required(params, "CallSid")
    return CallEvent(
        inbox_id=hook.inbox.id,
        call_id=call_sid,
        direction=_direction(params),
        from_number=params.get("From") or params.get("Caller") or None,
        to_number=params.get("To") or params.get("Called") or None,
        status=_call_status(params),
        **extra,
    )


@router.post("/{inbox_id}/voice")
async def incoming_call(inbox_id: RowId, request: Request, runtime: RuntimeDep) -> Response:
    """A call to the inbox's number: recorded at once, then answered as configured."""
    hook = await verified(request, runtime, inbox_id)
    required(hook.params, "CallSid", "From", "To")
    # Our TwiML answers with a machine (voicemail, queue, dial-out, announcement): only a
    # person taking the call (DialCallStatus, QueueResult) makes it answered.
    event = _call_event(hook, unattended=True)
    if event.direction is None:
        event = replace(event, direction=CallDirection.INBOUND)
    await record_call_event(runtime.uow, hook.inbox.workspace_id, event)
    return _answer(hook)


def _answer(hook: TwilioRequest) -> Response:
    """TwiML for a new call from inbox.settings["voice"]: mode voicemail (default), say,
    enqueue (queue name) or dial (number), with an optional greeting."""
    voice = hook.inbox.settings.get("voice")
    config: dict[str, Any] = voice if isinstance(voice, dict) else {}
    mode = str(config.get("mode", "voicemail"))
    greeting = str(config.get("greeting") or "Thank you for calling. Please leave a message.")
    say = f"<Say>{escape(greeting)}</Say>"
    status_url = quoteattr(f"{hook.base_url}/voice-status")
    if mode == "enqueue":
        queue = escape(str(config.get("queue") or "support"))
        return twiml(f"<Enqueue action={status_url}>{queue}</Enqueue>")
    if mode == "dial" and config.get("number"):
        timeout = _seconds_setting(config, "timeout_seconds", 20)
        number = escape(str(config["number"]))
        return twiml(f'<Dial action={status_url} timeout="{timeout}">{number}</Dial>')
    if mode == "say":
        return twiml(say)
    recording_url = quoteattr(f"{hook.base_url}/recording?kind=voicemail")
    max_length = _seconds_setting(config, "max_message_seconds", 120)
    return twiml(
        say,
        f'<Record action={recording_url} maxLength="{max_length}" playBeep="true"/>',
    )


def _seconds_setting(config: Mapping[str, Any], name: str, default: int) -> int:
    """A whole number of seconds from the inbox's voice settings; a value that is not one
    (a typo in the settings) falls back to the default rather than failing the call."""
    value = config.get(name, default)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_SECONDS:
        return value
    log.warning("twilio.voice_setting_ignored", setting=name, default=default)
    return default


@router.post("/{inbox_id}/voice-status")
async def call_status(inbox_id: RowId, request: Request, runtime: RuntimeDep) -> Response:
    """Call status callbacks, and the action callbacks of <Dial> and <Enqueue>."""
    hook = await verified(request, runtime, inbox_id)
    params = hook.params
    dial = params.get("DialCallStatus", "").strip().lower()
    queue = params.get("QueueResult", "").strip().lower()
    event = _call_event(
        hook,
        duration_seconds=optional_int(params, "CallDuration"),
        recording_url=params.get("RecordingUrl") or None,
        answered_by_agent=dial in _DIAL_ANSWERED or queue == "bridged",
        missed=dial in _DIAL_MISSED or queue in _QUEUE_MISSED,
    )
    await record_call_event(runtime.uow, hook.inbox.workspace_id, event)
    return twiml()


@router.post("/{inbox_id}/recording")
async def recording(inbox_id: RowId, request: Request, runtime: RuntimeDep) -> Response:
    """A recording is ready: a voicemail (<Record>) or a recorded conversation."""
    hook = await verified(request, runtime, inbox_id)
    params = hook.params
    (recording_url,) = required(params, "RecordingUrl")
    recording_status = params.get("RecordingStatus", "completed").strip().lower()
    voicemail = (
        request.query_params.get("kind") == "voicemail"
        or params.get("RecordingSource") == "RecordVerb"
    )
    usable = recording_status == "completed"
    event = _call_event(
        hook,
        recording_url=recording_url if usable else None,
        recording_duration_seconds=optional_int(params, "RecordingDuration"),
        voicemail=voicemail and usable,
        # A voicemail box the caller hung up on without speaking is a missed call.
        missed=voicemail and not usable,
    )
    await record_call_event(runtime.uow, hook.inbox.workspace_id, event)
    return twiml()
