"""Twilio webhooks: inbound SMS/MMS, message status, voice calls, call status, recordings.

Configure them per phone number in the Twilio console (see docs/channels/sms.md and
docs/channels/voice.md). Every request must carry a valid X-Twilio-Signature made with
the inbox's auth token; anything else is refused with 403 before it is read.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

import httpx
import structlog
from fastapi import APIRouter, Request, Response

from threadline.adapters.attachments import store_attachment
from threadline.adapters.db import tables as t
from threadline.adapters.egress.http import checked_client
from threadline.config import Settings
from threadline.conversations import CallDirection, receive_message, record_call_event
from threadline.delivery import apply_delivery_report
from threadline.domain.bounds import MAX_SECONDS
from threadline.domain.channels import Channel, IdentityKind
from threadline.domain.errors import DomainError
from threadline.domain.messaging.inbound import InboundMessage, SenderIdentity
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.api.openapi import problem_responses
from threadline.entrypoints.api.schemas import RowId
from threadline.integrations.twilio.call_events import (
    DIAL_ANSWERED,
    DIAL_MISSED,
    QUEUE_MISSED,
    call_event,
)
from threadline.integrations.twilio.message_status import MESSAGE_STATUS, failure_reason
from threadline.integrations.twilio.sender import CALLBACK_KEY_PARAMETER
from threadline.integrations.twilio.webhook_requests import (
    MalformedPayload,
    TwilioRequest,
    TwiML,
    optional_int,
    required,
    twiml,
    verified,
)

log = structlog.get_logger(__name__)

router = APIRouter(
    prefix="/webhooks/twilio",
    tags=["webhooks: twilio"],
    # Answered with TwiML; refused 403 unless X-Twilio-Signature proves Twilio sent it.
    default_response_class=TwiML,
    responses=problem_responses(400, 403, 413),
)

MAX_MEDIA = 10


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
    new_status = MESSAGE_STATUS.get(status.lower())
    if new_status is None:
        return twiml()
    async with runtime.uow() as uow:
        message_id = await apply_delivery_report(
            uow,
            hook.inbox.workspace_id,
            sid,
            new_status.value,
            failure_reason(hook.params, status),
            inbox_id=hook.inbox.id,
            key=request.query_params.get(CALLBACK_KEY_PARAMETER) or None,
        )
        if message_id is None:
            # Not ours (sent from the console, or long gone): nothing to update.
            log.info("twilio.status_for_unknown_message", message_sid=sid, status=status)
            return twiml()
        await uow.commit()
    return twiml()


# --- Voice ---------------------------------------------------------------------------------


@router.post("/{inbox_id}/voice")
async def incoming_call(inbox_id: RowId, request: Request, runtime: RuntimeDep) -> Response:
    """A call to the inbox's number: recorded at once, then answered as configured."""
    hook = await verified(request, runtime, inbox_id)
    required(hook.params, "CallSid", "From", "To")
    # Our TwiML answers with a machine (voicemail, queue, dial-out, announcement): only a
    # person taking the call (DialCallStatus, QueueResult) makes it answered.
    event = call_event(hook, unattended=True)
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
    event = call_event(
        hook,
        duration_seconds=optional_int(params, "CallDuration"),
        recording_url=params.get("RecordingUrl") or None,
        answered_by_agent=dial in DIAL_ANSWERED or queue == "bridged",
        missed=dial in DIAL_MISSED or queue in QUEUE_MISSED,
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
    event = call_event(
        hook,
        recording_url=recording_url if usable else None,
        recording_duration_seconds=optional_int(params, "RecordingDuration"),
        voicemail=voicemail and usable,
        # A voicemail box the caller hung up on without speaking is a missed call.
        missed=voicemail and not usable,
    )
    await record_call_event(runtime.uow, hook.inbox.workspace_id, event)
    return twiml()
