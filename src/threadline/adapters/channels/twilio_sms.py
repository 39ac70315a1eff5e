"""Outbound SMS through Twilio's REST Messages API (form-encoded, HTTP basic auth).

The inbox holds the account: `settings["account_sid"]`, the auth token in the inbox secret,
the sending number in `settings["from_number"]` (or the inbox address) or a
`settings["messaging_service_sid"]`.
"""

from __future__ import annotations

import httpx

from threadline.adapters.channels.base import (
    OutboundAdapter,
    OutboundEnvelope,
    PermanentFailure,
    RetryableFailure,
    SendResult,
    Sent,
    post,
)
from threadline.config import Settings
from threadline.domain.channels import Channel

RETRYABLE_STATUSES = frozenset({408, 429})
ERROR_EXCERPT_CHARS = 300


def messages_url(api_base: str, account_sid: str) -> str:
    return f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"


def status_callback_url(public_base_url: str, inbox_id: int) -> str | None:
    if not public_base_url:
        return None
    return f"{public_base_url.rstrip('/')}/webhooks/twilio/{inbox_id}/sms-status"


class TwilioSmsAdapter:
    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self.api_base = settings.twilio_api_base
        self.public_base_url = settings.public_base_url
        self.timeout_seconds = settings.outbound_timeout_seconds
        self._client = client

    def _form(self, message: OutboundEnvelope) -> dict[str, str] | PermanentFailure:
        settings = message.inbox_settings
        if not message.recipient:
            return PermanentFailure("the customer has no phone number to text")
        form = {"To": message.recipient, "Body": message.text}
        service = settings.get("messaging_service_sid")
        sender = settings.get("from_number")
        if isinstance(service, str) and service:
            form["MessagingServiceSid"] = service
        elif isinstance(sender, str) and sender:
            form["From"] = sender
        else:
            return PermanentFailure(
                f"SMS inbox {message.inbox_id} has neither from_number nor "
                "messaging_service_sid in its settings"
            )
        callback = status_callback_url(self.public_base_url, message.inbox_id)
        if callback:
            form["StatusCallback"] = callback
        return form

    async def send(self, message: OutboundEnvelope) -> SendResult:
        account_sid = message.inbox_settings.get("account_sid")
        if not isinstance(account_sid, str) or not account_sid:
            return PermanentFailure(f"SMS inbox {message.inbox_id} has no account_sid setting")
        if not message.inbox_secret:
            return PermanentFailure(f"SMS inbox {message.inbox_id} has no Twilio auth token")
        form = self._form(message)
        if isinstance(form, PermanentFailure):
            return form
        url = messages_url(self.api_base, account_sid)
        auth = httpx.BasicAuth(account_sid, message.inbox_secret)
        try:
            response = await post(self._client, url, self.timeout_seconds, data=form, auth=auth)
        except httpx.TimeoutException:
            return RetryableFailure(f"Twilio did not answer within {self.timeout_seconds:g}s")
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            return PermanentFailure(f"the Twilio API base URL is not usable: {exc}")
        except httpx.TransportError as exc:
            return RetryableFailure(f"could not reach Twilio: {type(exc).__name__}: {exc}")
        return classify_response(response)


def classify_response(response: httpx.Response) -> SendResult:
    status = response.status_code
    try:
        data = response.json()
    except ValueError:
        data = None
    if 200 <= status < 300:
        sid = data.get("sid") if isinstance(data, dict) else None
        return Sent(str(sid)[:300] if sid else None)
    reason = f"Twilio answered HTTP {status}"
    if isinstance(data, dict) and (data.get("code") or data.get("message")):
        reason += f": error {data.get('code')}: {data.get('message')}"
        if data.get("more_info"):
            reason += f" ({data['more_info']})"
    else:
        excerpt = " ".join(response.text[:ERROR_EXCERPT_CHARS].split())
        reason += f": {excerpt}" if excerpt else ""
    if status in RETRYABLE_STATUSES or status >= 500:
        return RetryableFailure(reason)
    return PermanentFailure(reason)


def outbound_adapters(
    settings: Settings, client: httpx.AsyncClient | None
) -> dict[Channel, OutboundAdapter]:
    return {Channel.SMS: TwilioSmsAdapter(settings, client=client)}
