"""Telegram: Bot API updates arrive through the secret-token webhook, files are fetched
from the Bot API, and replies go out through sendMessage."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import WorkspaceFixture
from tests.support.fixtures import load_fixture
from tests.support.telegram import FakeBotApi, Scripted, running_bot_api
from threadline.adapters.attachments import attachment_path
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.conversations.replies import ReplyRequest, reply
from threadline.delivery.outbound import DeliveryPolicy, DeliveryReport, deliver_due
from threadline.domain.channels import Channel
from threadline.domain.security.access import Principal, Role
from threadline.integrations.senders import build_outbound_adapters
from threadline.workspace.create import create_inbox

pytestmark = pytest.mark.anyio

BOT_TOKEN = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
WEBHOOK_SECRET = "s3cret_Token-for-acme"
PHOTO_BYTES = b"\xff\xd8\xff\xe0 large jpeg \r\n\x00 bytes"
PDF_BYTES = b"%PDF-1.7\n invoice \n%%EOF"
POLICY = DeliveryPolicy(lease=timedelta(seconds=60), max_attempts=3, backoff_seconds=10)


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(load_fixture("telegram", f"{name}.json"))
    return data


@dataclass
class Bot:
    """A Telegram inbox of the workspace, its Bot API stand-in, and the client to post to it."""

    inbox_id: int
    api: FakeBotApi
    url: str
    client: httpx.AsyncClient
    runtime: Runtime

    async def post(self, update: Any, secret: str | None = WEBHOOK_SECRET) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        return await self.client.post(self.url, json=update, headers=headers)

    async def receive(self, name: str) -> t.Message:
        """The fixture `name` posted, accepted and stored: the only message there is."""
        response = await self.post(fixture(name))
        assert response.status_code == 200, response.text
        [stored] = await self.messages()
        return stored

    async def messages(self) -> list[t.Message]:
        async with self.runtime.sessionmaker() as session:
            rows = await session.execute(
                select(t.Message).where(t.Message.channel == "telegram").order_by(t.Message.id)
            )
            return list(rows.scalars())

    async def message(self, message_id: int) -> t.Message:
        async with self.runtime.sessionmaker() as session:
            message = await session.get(t.Message, message_id)
        assert message is not None
        return message

    async def deliver(self) -> DeliveryReport:
        return await deliver_due(
            self.runtime.uow,
            build_outbound_adapters(self.runtime.settings),
            POLICY,
            self.runtime.clock.now(),
        )


async def make_bot(
    client: httpx.AsyncClient,
    runtime: Runtime,
    ws: WorkspaceFixture,
    api: FakeBotApi,
    name: str,
    token: str | None,
) -> Bot:
    """A Telegram inbox called `name` whose bot has `token` (None: none configured)."""
    runtime.settings.telegram_api_base = api.base_url
    async with runtime.uow() as uow:
        inbox = await create_inbox(
            uow,
            ws.id,
            name=name,
            channel=Channel.TELEGRAM,
            settings={"webhook_secret": WEBHOOK_SECRET},
            secret=token,
        )
        await uow.commit()
    return Bot(inbox.id, api, f"/webhooks/telegram/{inbox.id}", client, runtime)


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    with running_bot_api(BOT_TOKEN) as api:
        api.files = {
            "AgACAgIAAxkBAAIBZ2VvLarge": ("photos/file_7.jpg", PHOTO_BYTES),
            "AgACAgIAAxkBAAIBZ2VvMedium": ("photos/file_6.jpg", b"medium"),
            "AgACAgIAAxkBAAIBZ2VvSmall": ("photos/file_5.jpg", b"small"),
            "BQACAgIAAxkBAAIBaGVvDocument": ("documents/file_8.pdf", PDF_BYTES),
        }
        yield api


@pytest.fixture
async def bot(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    bot_api: FakeBotApi,
    tmp_path: Path,
) -> Bot:
    runtime.settings.attachments_dir = str(tmp_path / "files")
    return await make_bot(client, runtime, workspace, bot_api, "Acme bot", BOT_TOKEN)


async def identities(runtime: Runtime, customer_id: int) -> list[tuple[str, str]]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(t.Identity.kind, t.Identity.value).where(t.Identity.customer_id == customer_id)
        )
        return sorted((kind, value) for kind, value in rows.all())


async def test_private_text_message_becomes_the_customers_message(bot: Bot) -> None:
    stored = await bot.receive("text_private")
    assert stored.text == "Hello, my parcel has not arrived yet"
    assert stored.provider_message_id == "1111111:1365"
    assert stored.sender_identity == "1111111"
    assert stored.direction == "inbound"
    assert stored.meta["telegram"]["chat_type"] == "private"
    async with bot.runtime.sessionmaker() as session:
        conversation = await session.get(t.Conversation, stored.conversation_id)
        assert conversation is not None
        customer = await session.get(t.Customer, conversation.customer_id)
        assert customer is not None and customer.name == "Test Lastname"
        assert conversation.last_inbound_channel == "telegram"
    assert await identities(bot.runtime, conversation.customer_id) == [("telegram", "1111111")]


def assert_stored_file(bot: Bot, stored: t.Message, content: bytes) -> dict[str, Any]:
    """The message's one attachment, whose file holds `content`."""
    [attachment] = stored.attachments
    path = attachment_path(bot.runtime.settings, stored.workspace_id, attachment["sha256"])
    assert path is not None and path.read_bytes() == content
    return attachment


async def test_photo_is_fetched_from_the_bot_api_in_its_largest_size(bot: Bot) -> None:
    stored = await bot.receive("photo_with_caption")
    assert stored.text == "The box arrived crushed"
    attachment = assert_stored_file(bot, stored, PHOTO_BYTES)
    assert attachment["content_type"] == "image/jpeg"
    assert attachment["filename"] == "file_7.jpg"
    assert attachment["size"] == len(PHOTO_BYTES)
    fetched = [(r.method, r.path, r.query) for r in bot.api.requests]
    assert fetched == [
        ("GET", f"/bot{BOT_TOKEN}/getFile", {"file_id": ["AgACAgIAAxkBAAIBZ2VvLarge"]}),
        ("GET", f"/file/bot{BOT_TOKEN}/photos/file_7.jpg", {}),
    ]


async def test_document_keeps_its_name_and_type(bot: Bot) -> None:
    stored = await bot.receive("document")
    attachment = assert_stored_file(bot, stored, PDF_BYTES)
    assert attachment["filename"] == "invoice-2026-118.pdf"
    assert attachment["content_type"] == "application/pdf"


async def test_an_edit_is_kept_beside_the_original_in_the_same_conversation(bot: Bot) -> None:
    await bot.post(fixture("text_private"))
    response = await bot.post(fixture("edited_message"))
    again = await bot.post(fixture("edited_message"))

    assert response.status_code == 200 and again.status_code == 200
    original, edit = await bot.messages()
    assert edit.text == "Hello, my parcel (order 118) has not arrived yet"
    assert edit.conversation_id == original.conversation_id
    assert edit.meta["telegram"]["edited"] is True
    assert edit.meta["telegram"]["original_provider_id"] == original.provider_message_id


async def test_group_message_is_from_the_person_not_the_group(bot: Bot) -> None:
    stored = await bot.receive("group_text")
    assert stored.sender_identity == "2222222"
    assert stored.provider_message_id == "-1001234567890:2048"
    assert stored.meta["telegram"]["chat_type"] == "supergroup"
    assert stored.meta["telegram"]["chat_title"] == "Acme customers"


async def test_missing_or_wrong_secret_token_is_refused_and_nothing_is_stored(bot: Bot) -> None:
    for secret in (None, "", "wrong-secret", WEBHOOK_SECRET + "x"):
        response = await bot.post(fixture("photo_with_caption"), secret=secret)

        assert response.status_code == 403, secret
        assert "X-Telegram-Bot-Api-Secret-Token" in response.json()["detail"]
    assert await bot.messages() == []
    assert bot.api.requests == []


async def test_redelivered_update_stores_nothing_new_and_fetches_nothing_again(bot: Bot) -> None:
    first = await bot.post(fixture("photo_with_caption"))
    second = await bot.post(fixture("photo_with_caption"))

    assert first.status_code == 200 and second.status_code == 200
    assert second.json()["duplicate"] is True
    assert len(await bot.messages()) == 1
    assert len(bot.api.requests) == 2


MALFORMED = [
    (b"{not json", "not JSON"),
    (b"[1, 2]", "JSON object"),
    (b'{"message": {"message_id": 1}}', "update_id"),
    (b'{"update_id": 5, "message": {"message_id": 1, "from": {"id": 3}}}', "chat.id"),
    (b'{"update_id": 6, "message": {"message_id": 2, "chat": {"id": 1}, "from": {}}}', "from.id"),
]


async def test_malformed_update_is_refused_with_the_reason(bot: Bot) -> None:
    for body, reason in MALFORMED:
        response = await bot.client.post(
            bot.url,
            content=body,
            headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
        )

        assert response.status_code == 400, body
        assert reason in response.json()["detail"]
    assert await bot.messages() == []


async def test_updates_we_do_not_handle_are_acknowledged_so_telegram_stops_sending(
    bot: Bot,
) -> None:
    update = {"update_id": 10010, "callback_query": {"id": "4382", "data": "x"}}
    response = await bot.post(update)

    assert response.status_code == 200
    assert "callback_query" in response.json()["skipped"]
    assert await bot.messages() == []


async def test_bot_api_outage_while_fetching_a_photo_asks_telegram_to_resend(bot: Bot) -> None:
    bot.api.answer_next(
        Scripted(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
    )
    refused = await bot.post(fixture("photo_with_caption"))
    assert refused.status_code == 503
    assert await bot.messages() == []

    resent = await bot.post(fixture("photo_with_caption"))
    assert resent.status_code == 200
    [stored] = await bot.messages()
    assert len(stored.attachments) == 1


async def test_unknown_inbox_or_other_channel_inbox_is_not_found(
    bot: Bot, workspace: WorkspaceFixture
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    update = fixture("text_private")
    assert (
        await bot.client.post("/webhooks/telegram/999999", json=update, headers=headers)
    ).status_code == 404
    sms = workspace.inboxes["sms"]
    assert (
        await bot.client.post(f"/webhooks/telegram/{sms}", json=update, headers=headers)
    ).status_code == 404


async def agent_replies(runtime: Runtime, ws: WorkspaceFixture, conversation_id: int) -> int:
    principal = Principal(workspace_id=ws.id, role=Role.AGENT, agent_id=ws.agent_id)
    async with runtime.uow() as uow:
        message = await reply(uow, principal, ReplyRequest(conversation_id, "It ships today."))
        await uow.commit()
    return message.id


async def test_reply_goes_out_through_send_message_after_a_rate_limit(
    bot: Bot,
    workspace: WorkspaceFixture,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime = bot.runtime
    await bot.post(fixture("text_private"))
    [inbound] = await bot.messages()
    message_id = await agent_replies(runtime, workspace, inbound.conversation_id)
    bot.api.answer_next(
        Scripted(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3},
            },
        )
    )
    adapters = build_outbound_adapters(runtime.settings)
    caplog.set_level(logging.INFO)

    first = await deliver_due(runtime.uow, adapters, POLICY, runtime.clock.now())
    assert first.retrying == 1
    waiting = await bot.message(message_id)
    assert waiting.delivery_status == "queued"
    assert "retry after 3s" in waiting.meta["last_delivery_error"]
    clock.advance(timedelta(seconds=11))
    second = await deliver_due(runtime.uow, adapters, POLICY, runtime.clock.now())

    assert second.sent == 1
    assert bot.api.sent_messages() == [
        {"chat_id": "1111111", "text": "It ships today."},
        {"chat_id": "1111111", "text": "It ships today."},
    ]
    sent = await bot.message(message_id)
    assert sent.delivery_status == "sent"
    assert sent.provider_message_id == "1111111:501"
    assert (await deliver_due(runtime.uow, adapters, POLICY, runtime.clock.now())).claimed == 0
    # httpx logged the requests, with the token masked.
    assert "/bot<redacted>/sendMessage" in caplog.text
    assert BOT_TOKEN not in caplog.text
    assert BOT_TOKEN.split(":")[1] not in caplog.text


async def test_reply_to_a_user_who_blocked_the_bot_fails_with_telegrams_reason(
    bot: Bot, workspace: WorkspaceFixture
) -> None:
    await bot.post(fixture("text_private"))
    [inbound] = await bot.messages()
    message_id = await agent_replies(bot.runtime, workspace, inbound.conversation_id)
    bot.api.answer_next(
        Scripted(
            403,
            {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            },
        )
    )

    report = await bot.deliver()

    assert report.failed == 1
    failed = await bot.message(message_id)
    assert failed.delivery_status == "failed"
    assert failed.failure_reason == "Telegram answered 403: Forbidden: bot was blocked by the user"


async def test_without_a_bot_token_files_are_noted_and_replies_fail_clearly(
    runtime: Runtime,
    client: httpx.AsyncClient,
    bot_api: FakeBotApi,
    workspace: WorkspaceFixture,
) -> None:
    bot = await make_bot(client, runtime, workspace, bot_api, "Tokenless bot", None)

    response = await bot.post(fixture("photo_with_caption"))

    assert response.status_code == 200, response.text
    [stored] = await bot.messages()
    assert stored.attachments == []
    assert "no bot token" in stored.meta["attachment_errors"][0]
    message_id = await agent_replies(runtime, workspace, stored.conversation_id)
    report = await bot.deliver()
    assert report.failed == 1
    failed = await bot.message(message_id)
    assert "has no bot token" in (failed.failure_reason or "")
    assert bot_api.requests == []
