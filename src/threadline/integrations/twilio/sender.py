"""Outbound SMS through Twilio's REST Messages API (form-encoded, HTTP basic auth).

The inbox holds the account: `settings["account_sid"]`, the auth token in the inbox secret,
the sending number in `settings["from_number"]` or a `settings["messaging_service_sid"]`
(the inbox address is not used as the sender: a send without either fails with that reason).

Twilio takes no idempotency key, so a send whose answer we never got (a timeout after the
request went out, a dropped connection, a worker killed mid-send) is not simply repeated:
`find_sent` first reads Twilio's Messages list for this customer and sender, and a message
Twilio already has with our text, created since the first attempt, is adopted by its SID.
Our own marker, the job's key, rides in the StatusCallback URL: the message resource does
not show that URL, but every status callback Twilio makes for the message is posted to it,
which settles the job even before a lookup (see delivery/status.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urljoin

import httpx

from threadline.adapters.channels.base import (
    FoundAtProvider,
    LookupResult,
    OutboundAdapter,
    OutboundEnvelope,
    PermanentFailure,
    RetryableFailure,
    SendResult,
    Sent,
    Unconfirmed,
    get,
    post,
    request_may_have_arrived,
)
from threadline.config import Settings
from threadline.domain.channels import Channel

RETRYABLE_STATUSES = frozenset({408, 429})
ERROR_EXCERPT_CHARS = 300


def messages_url(api_base: str, account_sid: str) -> str:
    return f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"


# A lookup reads this many of Twilio's newest matching messages at most.
LOOKUP_PAGE_SIZE = 50
LOOKUP_MAX_PAGES = 4
# Twilio's clock and ours may disagree a little: look that much further back.
CLOCK_SKEW = timedelta(minutes=5)
# Message statuses meaning Twilio took the message but could not send it.
_FAILED_STATUSES = frozenset({"failed", "undelivered", "canceled"})
# The query parameter of the StatusCallback URL that carries the job's key.
CALLBACK_KEY_PARAMETER = "key"


def status_callback_url(
    public_base_url: str, inbox_id: int, idempotency_key: str | None = None
) -> str | None:
    if not public_base_url:
        return None
    url = f"{public_base_url.rstrip('/')}/webhooks/twilio/{inbox_id}/sms-status"
    if idempotency_key:
        url += "?" + urlencode({CALLBACK_KEY_PARAMETER: idempotency_key})
    return url


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
        callback = status_callback_url(
            self.public_base_url, message.inbox_id, message.idempotency_key
        )
        if callback:
            form["StatusCallback"] = callback
        return form

    def _account(self, message: OutboundEnvelope) -> tuple[str, httpx.BasicAuth] | PermanentFailure:
        account_sid = message.inbox_settings.get("account_sid")
        if not isinstance(account_sid, str) or not account_sid:
            return PermanentFailure(f"SMS inbox {message.inbox_id} has no account_sid setting")
        if not message.inbox_secret:
            return PermanentFailure(f"SMS inbox {message.inbox_id} has no Twilio auth token")
        return account_sid, httpx.BasicAuth(account_sid, message.inbox_secret)

    def _prepared(
        self, message: OutboundEnvelope
    ) -> tuple[str, httpx.BasicAuth, dict[str, str]] | PermanentFailure:
        """The account, its credentials and the message form, or why the inbox cannot send."""
        account = self._account(message)
        if isinstance(account, PermanentFailure):
            return account
        form = self._form(message)
        if isinstance(form, PermanentFailure):
            return form
        return (*account, form)

    async def send(self, message: OutboundEnvelope) -> SendResult:
        prepared = self._prepared(message)
        if isinstance(prepared, PermanentFailure):
            return prepared
        account_sid, auth, form = prepared
        url = messages_url(self.api_base, account_sid)
        try:
            response = await post(self._client, url, self.timeout_seconds, data=form, auth=auth)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            return PermanentFailure(f"the Twilio API base URL is not usable: {exc}")
        except httpx.TransportError as exc:
            if not request_may_have_arrived(exc):
                return RetryableFailure(f"could not reach Twilio: {type(exc).__name__}: {exc}")
            if isinstance(exc, httpx.TimeoutException):
                return Unconfirmed(f"Twilio did not answer within {self.timeout_seconds:g}s")
            return Unconfirmed(f"the connection to Twilio failed before its answer: {exc!r}")
        return classify_response(response)

    async def find_sent(self, message: OutboundEnvelope, since: datetime) -> LookupResult:
        """Twilio's messages to this customer from this sender, sent since `since`, that carry
        exactly our text (oldest first): GET Messages.json filtered by To, From and DateSent,
        newest first, following next_page_uri for a few pages."""
        prepared = self._prepared(message)
        if isinstance(prepared, PermanentFailure):
            return prepared
        account_sid, auth, form = prepared
        earliest = since - CLOCK_SKEW
        # DateSent takes a GMT day; DateSent> means on or after its midnight.
        query: dict[str, str] = {
            "To": form["To"],
            "DateSent>": earliest.date().isoformat(),
            "PageSize": str(LOOKUP_PAGE_SIZE),
        }
        if "From" in form:
            query["From"] = form["From"]
        url: str | None = messages_url(self.api_base, account_sid)
        params: dict[str, str] | None = query
        found: list[tuple[datetime, FoundAtProvider]] = []
        for _ in range(LOOKUP_MAX_PAGES):
            if url is None:
                break
            try:
                response = await get(
                    self._client, url, self.timeout_seconds, params=params, auth=auth
                )
            except httpx.TransportError as exc:
                return RetryableFailure(
                    f"could not look the SMS up at Twilio: {type(exc).__name__}: {exc}"
                )
            if response.status_code != 200:
                failure = classify_response(response)
                reason = failure.reason if not isinstance(failure, Sent) else ""
                return RetryableFailure(f"could not look the SMS up at Twilio: {reason}")
            try:
                page = response.json()
            except ValueError:
                return RetryableFailure("Twilio's Messages list answer is not JSON")
            if not isinstance(page, dict) or not isinstance(page.get("messages"), list):
                return RetryableFailure("Twilio's Messages list answer has no messages array")
            for resource in page["messages"]:
                match = _matching(resource, form, earliest)
                if match is not None:
                    found.append(match)
            next_page = page.get("next_page_uri")
            url = urljoin(self.api_base.rstrip("/") + "/", next_page) if next_page else None
            params = None  # the next page's URI carries the filters and the page token
        found.sort(key=lambda pair: pair[0])
        return [match for _, match in found]


def _matching(
    resource: Any, form: dict[str, str], earliest: datetime
) -> tuple[datetime, FoundAtProvider] | None:
    """The resource as a found message when it is one we may have sent: outbound, to this
    number, from our number or Messaging Service, with our exact text, created since."""
    if not isinstance(resource, dict) or not isinstance(resource.get("sid"), str):
        return None
    if not str(resource.get("direction", "")).startswith("outbound"):
        return None
    if resource.get("to") != form["To"] or resource.get("body") != form["Body"]:
        return None
    if "From" in form and resource.get("from") != form["From"]:
        return None
    service = form.get("MessagingServiceSid")
    if service and resource.get("messaging_service_sid") != service:
        return None
    try:
        created = parsedate_to_datetime(str(resource.get("date_created")))
    except (TypeError, ValueError):
        return None
    if created.tzinfo is None or created < earliest:
        return None
    failure = None
    status = str(resource.get("status", "")).lower()
    if status in _FAILED_STATUSES:
        failure = f"Twilio reports the SMS {status}"
        if resource.get("error_code"):
            failure += f": error {resource['error_code']}"
        if resource.get("error_message"):
            failure += f": {resource['error_message']}"
    return created, FoundAtProvider(resource["sid"][:300], failure)


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
