"""Telegram Bot API: sending replies (sendMessage) and fetching files customers sent.

The bot token is part of every Bot API URL (`/bot<token>/method`), so it must never reach
a log line or a failure reason an agent sees: every URL we build is passed through
`redact` before it is shown, and a filter on httpx's logger masks tokens in its request log.
Setup at Telegram is described in docs/channels/telegram.md.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import httpx

from threadline.adapters.channels.base import (
    OutboundAdapter,
    OutboundEnvelope,
    PermanentFailure,
    RetryableFailure,
    SendResult,
    Sent,
)
from threadline.config import Settings
from threadline.domain.channels import Channel

# sendMessage refuses longer texts.
MAX_TEXT_LENGTH = 4096
# The public Bot API hands out files of at most 20 MB.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
DESCRIPTION_CHARS = 300

_TOKEN_IN_URL = re.compile(r"/bot[^/\s]+")


def redact(text: str) -> str:
    """Masks bot tokens in anything URL-shaped."""
    return _TOKEN_IN_URL.sub("/bot<redacted>", text)


class _RedactBotTokens(logging.Filter):
    """httpx logs every request URL at INFO; Bot API URLs carry the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = redact(record.getMessage())
            record.args = None
        else:
            record.msg = redact(str(record.msg))
        return True


def _install_log_redaction() -> None:
    for name in ("httpx", "httpcore"):
        target = logging.getLogger(name)
        if not any(isinstance(f, _RedactBotTokens) for f in target.filters):
            target.addFilter(_RedactBotTokens())


_install_log_redaction()


class TelegramError(Exception):
    """The Bot API could not give us what we asked for; `retryable` says if later may work."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class DownloadedFile:
    data: bytes
    file_path: str


def method_url(api_base: str, token: str, method: str) -> str:
    return f"{api_base.rstrip('/')}/bot{token}/{method}"


def file_url(api_base: str, token: str, file_path: str) -> str:
    return f"{api_base.rstrip('/')}/file/bot{token}/{file_path.lstrip('/')}"


def _describe_failure(response: httpx.Response) -> tuple[str, bool]:
    """A reason for a Bot API answer that is not ok, and whether trying later may help."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = body.get("error_code", response.status_code)
    description = " ".join(str(body.get("description") or response.reason_phrase).split())
    reason = f"Telegram answered {code}: {redact(description)[:DESCRIPTION_CHARS]}"
    parameters = body.get("parameters")
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if code == 429 or response.status_code == 429:
        wait = f" (retry after {retry_after}s)" if retry_after is not None else ""
        return f"Telegram rate limit{wait}: {redact(description)[:DESCRIPTION_CHARS]}", True
    return reason, response.status_code >= 500 or (isinstance(code, int) and code >= 500)


async def _call(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return await client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise TelegramError("Telegram did not answer in time", retryable=True) from exc
    except httpx.TransportError as exc:
        # The exception text may quote the URL, and with it the token.
        raise TelegramError(
            f"could not reach Telegram: {type(exc).__name__}: {redact(str(exc))}", retryable=True
        ) from exc


async def download_file(
    client: httpx.AsyncClient, api_base: str, token: str, file_id: str
) -> DownloadedFile:
    """getFile for the file's path, then the bytes from the file endpoint."""
    answer = await _call(
        client, "GET", method_url(api_base, token, "getFile"), params={"file_id": file_id}
    )
    payload = _ok_result(answer)
    file_path = payload.get("file_path") if isinstance(payload, dict) else None
    if not isinstance(file_path, str) or not file_path:
        raise TelegramError("Telegram's getFile answer has no file_path", retryable=False)
    size = payload.get("file_size")
    if isinstance(size, int) and size > MAX_DOWNLOAD_BYTES:
        raise TelegramError(f"the file is {size} bytes, over Telegram's limit", retryable=False)
    content = await _call(client, "GET", file_url(api_base, token, file_path))
    if content.status_code != 200:
        reason, retryable = _describe_failure(content)
        raise TelegramError(reason, retryable=retryable)
    return DownloadedFile(content.content, file_path)


def _ok_result(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 200 and isinstance(body, dict) and body.get("ok") is True:
        return body.get("result")
    reason, retryable = _describe_failure(response)
    raise TelegramError(reason, retryable=retryable)


_BOT_TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")


def bot_token(secret: str | None) -> str | None:
    """The inbox's secret holds the bot token (it is never shown back through the API).

    Every inbox is created with a random secret; one that is not shaped like a bot token
    (`<bot id>:<key>`) means the token was never set.
    """
    token = (secret or "").strip()
    return token if _BOT_TOKEN_SHAPE.fullmatch(token) else None


class TelegramBotAdapter:
    """Sends an agent's reply as a text message from the inbox's bot."""

    def __init__(
        self, api_base: str, timeout_seconds: float, client: httpx.AsyncClient | None = None
    ) -> None:
        self.api_base = api_base
        self.timeout_seconds = timeout_seconds
        self._client = client

    async def send(self, message: OutboundEnvelope) -> SendResult:
        token = bot_token(message.inbox_secret)
        if token is None:
            return PermanentFailure(
                f"Telegram inbox {message.inbox_id} has no bot token (set it as the inbox secret)"
            )
        if not message.recipient:
            return PermanentFailure("the customer has no Telegram chat to send to")
        if len(message.text) > MAX_TEXT_LENGTH:
            return PermanentFailure(
                f"Telegram messages are limited to {MAX_TEXT_LENGTH} characters; "
                f"this reply has {len(message.text)}"
            )
        body = {"chat_id": message.recipient, "text": message.text}
        url = method_url(self.api_base, token, "sendMessage")
        try:
            if self._client is not None:
                response = await _call(
                    self._client, "POST", url, json=body, timeout=self.timeout_seconds
                )
            else:
                async with httpx.AsyncClient(timeout=self.timeout_seconds) as client:
                    response = await _call(client, "POST", url, json=body)
            result = _ok_result(response)
        except TelegramError as exc:
            return RetryableFailure(exc.reason) if exc.retryable else PermanentFailure(exc.reason)
        return Sent(_provider_id(result, message.recipient))


def _provider_id(result: Any, recipient: str) -> str | None:
    """Same shape as inbound ids: `<chat id>:<message id>`."""
    if not isinstance(result, dict) or result.get("message_id") is None:
        return None
    chat = result.get("chat")
    chat_id = chat.get("id") if isinstance(chat, dict) and chat.get("id") is not None else None
    return f"{chat_id if chat_id is not None else recipient}:{result['message_id']}"


def outbound_adapters(
    settings: Settings, client: httpx.AsyncClient | None
) -> dict[Channel, OutboundAdapter]:
    """Registers this adapter with the outbound worker (see entrypoints/outbound_worker.py)."""
    adapter = TelegramBotAdapter(
        settings.telegram_api_base, settings.outbound_timeout_seconds, client=client
    )
    return {Channel.TELEGRAM: adapter}
