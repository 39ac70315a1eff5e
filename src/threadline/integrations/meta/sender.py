"""Sending WhatsApp and Messenger replies through Meta's Graph API.

WhatsApp Cloud API: POST {graph}/{version}/{phone_number_id}/messages
    {"messaging_product": "whatsapp", "to": ..., "type": "text", "text": {"body": ...}}
    or "type": "template" with {"name", "language": {"code"}, "components"}.
Messenger Send API: POST {graph}/{version}/me/messages
    {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": ...}}

The access token (inbox setting `access_token`) travels only in the Authorization header
and never appears in a failure reason or log line.

The Graph API takes no idempotency key and cannot look a sent message up by anything of
ours. So every send carries the job's key where Meta gives it back in its webhooks
(WhatsApp: `biz_opaque_callback_data`, echoed in the statuses; Messenger: the message's
`metadata`, echoed in message_echoes), and a send whose answer we never got is not
repeated: it waits for a webhook naming that key, or fails with a reason at a deadline
(`awaits_delivery_reports`; see delivery/outbound.py).
"""

from __future__ import annotations

from typing import Any

import httpx

from threadline.adapters.channels.base import (
    OutboundAdapter,
    OutboundEnvelope,
    PermanentFailure,
    RetryableFailure,
    SendResult,
    Sent,
    Unconfirmed,
    post,
    request_may_have_arrived,
)
from threadline.config import Settings
from threadline.domain.channels import Channel
from threadline.integrations.meta.graph_media import GraphEndpoint

# Graph error codes that mean "later" (throttling, temporary outages), as Meta documents.
RETRYABLE_CODES = frozenset(
    {1, 2, 4, 17, 32, 341, 613, 80007, 130429, 131000, 131016, 131048, 131056, 133004}
)
MESSENGER_TEXT_LIMIT = 2000
WHATSAPP_TEXT_LIMIT = 4096
# Meta's limits on what it echoes back: WhatsApp 512 characters, Messenger 1000.
CALLBACK_DATA_LIMIT = 512


class MetaGraphAdapter:
    # A send in doubt is settled by Meta's webhooks, never by sending again.
    awaits_delivery_reports = True

    def __init__(
        self,
        channel: Channel,
        graph: GraphEndpoint,
        timeout_seconds: float,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.channel = channel
        self.graph = graph
        self.timeout_seconds = timeout_seconds
        self._client = client

    async def send(self, message: OutboundEnvelope) -> SendResult:
        name = "WhatsApp" if self.channel is Channel.WHATSAPP else "Messenger"
        token = message.inbox_settings.get("access_token")
        if not isinstance(token, str) or not token:
            return PermanentFailure(
                f"{name} inbox {message.inbox_id} has no access_token setting to send with"
            )
        if not message.recipient:
            return PermanentFailure(f"the customer has no {name} address to send to")
        built = (
            self._whatsapp_request(message)
            if self.channel is Channel.WHATSAPP
            else self._messenger_request(message)
        )
        if isinstance(built, PermanentFailure):
            return built
        url, body = built
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            response = await post(
                self._client, url, self.timeout_seconds, json=body, headers=headers
            )
        except httpx.TransportError as exc:
            if not request_may_have_arrived(exc):
                return RetryableFailure(f"could not reach {name}: {type(exc).__name__}")
            if isinstance(exc, httpx.TimeoutException):
                return Unconfirmed(f"{name} did not answer within {self.timeout_seconds:g}s")
            return Unconfirmed(
                f"the connection to {name} failed before its answer: {type(exc).__name__}"
            )
        return classify_response(name, response)

    def _whatsapp_request(
        self, message: OutboundEnvelope
    ) -> tuple[str, dict[str, Any]] | PermanentFailure:
        phone_number_id = message.inbox_settings.get("phone_number_id")
        if not phone_number_id:
            return PermanentFailure(
                f"WhatsApp inbox {message.inbox_id} has no phone_number_id setting"
            )
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            # WhatsApp ids are numbers without the "+" of E.164.
            "to": (message.recipient or "").lstrip("+"),
            # Echoed in every status webhook: how a send whose answer was lost is recognised.
            "biz_opaque_callback_data": message.idempotency_key[:CALLBACK_DATA_LIMIT],
        }
        if message.template:
            body["type"] = "template"
            body["template"] = template_object(message.template)
        else:
            if len(message.text) > WHATSAPP_TEXT_LIMIT:
                return PermanentFailure(
                    f"WhatsApp text messages are limited to {WHATSAPP_TEXT_LIMIT} characters"
                )
            body["type"] = "text"
            body["text"] = {"preview_url": False, "body": message.text}
        return self.graph.url(str(phone_number_id), "messages"), body

    def _messenger_request(
        self, message: OutboundEnvelope
    ) -> tuple[str, dict[str, Any]] | PermanentFailure:
        if message.template:
            return PermanentFailure("Messenger replies cannot be WhatsApp templates")
        if len(message.text) > MESSENGER_TEXT_LIMIT:
            return PermanentFailure(
                f"Messenger text messages are limited to {MESSENGER_TEXT_LIMIT} characters"
            )
        body = {
            "recipient": {"id": message.recipient},
            # Within the 24-hour window, checked before the reply was queued.
            "messaging_type": "RESPONSE",
            # metadata comes back in the message_echoes webhook, with the message id.
            "message": {
                "text": message.text,
                "metadata": message.idempotency_key[:CALLBACK_DATA_LIMIT],
            },
        }
        return self.graph.url("me", "messages"), body


def template_object(template: Any) -> dict[str, Any]:
    """The Cloud API template object; parameters fill the body's {{1}}, {{2}}, ... in order."""
    parameters = [str(p) for p in template.get("parameters") or []]
    components = (
        [{"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}]
        if parameters
        else []
    )
    return {
        "name": template["name"],
        "language": {"code": template["language"]},
        "components": components,
    }


def classify_response(name: str, response: httpx.Response) -> SendResult:
    data: Any
    try:
        data = response.json()
    except ValueError:
        data = None
    if 200 <= response.status_code < 300:
        return Sent(_provider_id(data))
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        code = error.get("code")
        detail = str(error.get("message") or "no message")[:300]
        subcode = error.get("error_subcode")
        trace = error.get("fbtrace_id")
        reason = (
            f"{name} refused the message: {detail} (code {code}"
            + (f", subcode {subcode}" if subcode is not None else "")
            + (f", fbtrace_id {trace}" if trace else "")
            + ")"
        )
        if code in RETRYABLE_CODES or response.status_code >= 500:
            return RetryableFailure(reason)
        return PermanentFailure(reason)
    reason = f"{name} answered HTTP {response.status_code}"
    if response.status_code == 429 or response.status_code >= 500:
        return RetryableFailure(reason)
    return PermanentFailure(reason)


def _provider_id(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    messages = data.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        wamid = messages[0].get("id")
        if isinstance(wamid, str) and wamid:
            return wamid[:300]
    mid = data.get("message_id")
    return mid[:300] if isinstance(mid, str) and mid else None


def outbound_adapters(
    settings: Settings, client: httpx.AsyncClient | None
) -> dict[Channel, OutboundAdapter]:
    graph = GraphEndpoint(settings.meta_graph_base, settings.meta_graph_version)
    timeout = settings.outbound_timeout_seconds
    return {
        Channel.WHATSAPP: MetaGraphAdapter(Channel.WHATSAPP, graph, timeout, client),
        Channel.MESSENGER: MetaGraphAdapter(Channel.MESSENGER, graph, timeout, client),
    }
