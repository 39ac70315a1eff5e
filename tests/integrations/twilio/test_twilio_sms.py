"""SMS through Twilio: inbound SMS/MMS webhooks, status callbacks and outbound sends, all in
Twilio's wire format, against a real local stand-in for Twilio's API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import WorkspaceFixture, customer_writes
from tests.support.delivery import deliver_over_one_client
from tests.support.twilio import (
    CUSTOMER_NUMBER,
    OUR_NUMBER,
    FakeTwilio,
    configure_twilio_inbox,
    fixture_json,
    fixture_pairs,
    post_signed,
    running_fake_twilio,
)
from tests.support.twilio_sms import answer_a_customer_sms, post_sms, sms_inbox_on
from threadline.adapters.attachments import attachment_path
from threadline.adapters.clock import ManualClock
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.domain.channels import Channel
from threadline.workspace.create import create_inbox

pytestmark = pytest.mark.anyio


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with running_fake_twilio() as fake:
        yield fake


@pytest.fixture
async def sms_inbox(runtime: Runtime, workspace: WorkspaceFixture, twilio: FakeTwilio) -> int:
    return await sms_inbox_on(runtime, workspace, twilio)


async def messages(runtime: Runtime, **where: object) -> list[t.Message]:
    async with runtime.sessionmaker() as session:
        query = select(t.Message).order_by(t.Message.id)
        for key, value in where.items():
            query = query.where(getattr(t.Message, key) == value)
        return list((await session.execute(query)).scalars())


async def count(runtime: Runtime, model: type[t.Base]) -> int:
    async with runtime.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def a_reply_sent(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture, sms_inbox: int
) -> tuple[int, str]:
    """An agent's SMS reply that Twilio took: its id and Twilio's SID for it."""
    message_id = await answer_a_customer_sms(
        runtime, client, workspace, sms_inbox, "It ships today."
    )
    await deliver_over_one_client(runtime)
    [sent] = await messages(runtime, id=message_id)
    assert sent.delivery_status == "sent" and sent.provider_message_id
    return message_id, sent.provider_message_id


async def test_inbound_sms_fixture_is_stored_on_the_phone_customer_and_answered_with_twiml(
    runtime: Runtime, client: httpx.AsyncClient, sms_inbox: int
) -> None:
    response = await post_sms(client, sms_inbox)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text.endswith("<Response/>")
    [stored] = await messages(runtime)
    assert stored.channel == "sms"
    assert stored.text == "Hi! Is my order #1042 on its way?"
    assert stored.sender_identity == CUSTOMER_NUMBER
    assert stored.provider_message_id == "SM1f0e8ae6ade43cb3c0ce4525424e404f"


async def test_redelivered_sms_stores_nothing_new(
    runtime: Runtime, client: httpx.AsyncClient, sms_inbox: int
) -> None:
    pairs = fixture_pairs("sms_inbound.form")
    for _ in range(3):
        response = await post_sms(client, sms_inbox, pairs)
        assert response.status_code == 200
    assert len(await messages(runtime)) == 1
    assert await count(runtime, t.Conversation) == 1


async def test_mms_fixture_media_is_fetched_with_account_credentials_and_stored(
    runtime: Runtime,
    client: httpx.AsyncClient,
    sms_inbox: int,
    twilio: FakeTwilio,
    tmp_path: Path,
) -> None:
    runtime.settings.attachments_dir = str(tmp_path)
    pairs = fixture_pairs("mms_inbound.form", MEDIA_BASE=twilio.url)
    media = {k: v for k, v in pairs if k.startswith("MediaUrl")}
    twilio.media[media["MediaUrl0"].removeprefix(twilio.url)] = (
        b"\xff\xd8jpeg-bytes",
        "image/jpeg",
    )
    twilio.media[media["MediaUrl1"].removeprefix(twilio.url)] = (
        b"%PDF-1.4 receipt",
        "application/pdf",
    )

    response = await post_sms(client, sms_inbox, pairs)

    assert response.status_code == 200, response.text
    [stored] = await messages(runtime)
    assert stored.text == "Here is the broken part and the receipt"
    assert [a["content_type"] for a in stored.attachments] == ["image/jpeg", "application/pdf"]
    assert [a["size"] for a in stored.attachments] == [12, 16]
    for attachment in stored.attachments:
        path = attachment_path(runtime.settings, stored.workspace_id, attachment["sha256"])
        assert path is not None and path.read_bytes()
    media_gets = [r for r in twilio.requests if r.method == "GET"]
    assert len(media_gets) == 2 and all(r.authorized for r in media_gets)


async def test_sms_whatsapp_and_voice_from_one_number_are_one_customer_one_conversation(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture, sms_inbox: int
) -> None:
    voice_inbox = workspace.inboxes["voice"]
    await configure_twilio_inbox(runtime, voice_inbox)
    call = fixture_pairs("voice_inbound.form")
    assert (await post_signed(client, f"/webhooks/twilio/{voice_inbox}/voice", call)).is_success
    await customer_writes(
        client, workspace, "whatsapp", "phone", "+1 (415) 555-2671", "Also on WhatsApp"
    )
    sms = await post_sms(client, sms_inbox)
    assert sms.status_code == 200

    stored = await messages(runtime)
    assert sorted(m.channel for m in stored) == ["sms", "voice", "whatsapp"]
    assert len({m.conversation_id for m in stored}) == 1
    assert await count(runtime, t.Customer) == 1


@pytest.mark.parametrize(
    ("fixture", "expected", "reason"),
    [
        ("sms_status_queued.form", "sent", None),
        ("sms_status_sent.form", "sent", None),
        ("sms_status_delivered.form", "delivered", None),
        ("sms_status_undelivered.form", "failed", "error 30003 (unreachable destination handset)"),
        ("sms_status_failed.form", "failed", "error 30008 (unknown error)"),
    ],
)
async def test_status_callback_fixture_moves_our_outbound_sms(
    runtime: Runtime,
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    sms_inbox: int,
    twilio: FakeTwilio,
    fixture: str,
    expected: str,
    reason: str | None,
) -> None:
    message_id, sid = await a_reply_sent(runtime, client, workspace, sms_inbox)

    pairs = fixture_pairs(fixture, SID=sid)
    response = await post_signed(client, f"/webhooks/twilio/{sms_inbox}/sms-status", pairs)

    assert response.status_code == 200, response.text
    after = (await messages(runtime, id=message_id))[0]
    assert after.delivery_status == expected
    if reason:
        assert after.failure_reason is not None and reason in after.failure_reason
    else:
        assert after.failure_reason is None


async def test_status_for_a_message_we_never_sent_is_acknowledged_and_changes_nothing(
    runtime: Runtime, client: httpx.AsyncClient, sms_inbox: int
) -> None:
    pairs = fixture_pairs("sms_status_delivered.form", SID="SMdeadbeef")
    response = await post_signed(client, f"/webhooks/twilio/{sms_inbox}/sms-status", pairs)
    assert response.status_code == 200
    assert await messages(runtime) == []


async def test_a_status_callback_to_another_number_leaves_our_sms_alone(
    runtime: Runtime,
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    sms_inbox: int,
    twilio: FakeTwilio,
) -> None:
    """A message SID belongs to the number that sent it: a callback arriving on the
    workspace's second Twilio number (its own account and token) does not move it."""
    message_id, sid = await a_reply_sent(runtime, client, workspace, sms_inbox)
    async with runtime.uow() as uow:
        second = await create_inbox(
            uow, workspace.id, name="Second number", channel=Channel.SMS, address="+48223074001"
        )
        await uow.commit()
    await configure_twilio_inbox(runtime, second.id, from_number="+48223074001")

    pairs = fixture_pairs("sms_status_failed.form", SID=sid)
    response = await post_signed(client, f"/webhooks/twilio/{second.id}/sms-status", pairs)

    assert response.status_code == 200, response.text
    [after] = await messages(runtime, id=message_id)
    assert (after.delivery_status, after.failure_reason) == ("sent", None)


async def test_outbound_sms_is_posted_in_twilios_format_and_records_the_sid(
    runtime: Runtime,
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    sms_inbox: int,
    twilio: FakeTwilio,
) -> None:
    message_id = await answer_a_customer_sms(
        runtime, client, workspace, sms_inbox, "It ships today."
    )
    runtime.settings.public_base_url = "https://support.example.com"

    await deliver_over_one_client(runtime)

    [posted] = twilio.messages_posted()
    assert posted.authorized
    async with runtime.sessionmaker() as session:
        key = (
            await session.execute(
                select(t.OutboundJob.idempotency_key).where(t.OutboundJob.message_id == message_id)
            )
        ).scalar_one()
    # The job's key rides in the callback URL, so every status callback names our reply.
    assert posted.form == {
        "To": CUSTOMER_NUMBER,
        "From": OUR_NUMBER,
        "Body": "It ships today.",
        "StatusCallback": (
            f"https://support.example.com/webhooks/twilio/{sms_inbox}/sms-status?key={key}"
        ),
    }
    [sent] = await messages(runtime, id=message_id)
    assert sent.delivery_status == "sent"
    assert sent.provider_message_id == f"SM{1:032x}"


async def test_twilio_outage_is_retried_and_the_sms_is_sent_once(
    runtime: Runtime,
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    sms_inbox: int,
    twilio: FakeTwilio,
    clock: ManualClock,
) -> None:
    message_id = await answer_a_customer_sms(runtime, client, workspace, sms_inbox, "Retry me")
    twilio.answer_next((500, {"code": 20500, "message": "Internal Server Error", "status": 500}))

    await deliver_over_one_client(runtime)
    [after_outage] = await messages(runtime, id=message_id)
    assert after_outage.delivery_status == "queued"
    assert "HTTP 500" in after_outage.meta["last_delivery_error"]

    clock.advance(timedelta(seconds=11))
    await deliver_over_one_client(runtime)
    await deliver_over_one_client(runtime)

    assert len(twilio.messages_posted()) == 2
    assert twilio.sent == 1
    [sent] = await messages(runtime, id=message_id)
    assert sent.delivery_status == "sent"


@pytest.mark.parametrize(
    ("fixture", "status", "outcome", "text"),
    [
        ("rest_error_21211.json", 400, "failed", "error 21211: The 'To' number"),
        ("rest_error_20429.json", 429, "queued", "error 20429: Too Many Requests"),
        ("rest_error_20003.json", 401, "failed", "error 20003: Authenticate"),
    ],
)
async def test_rest_error_fixture_is_a_clear_permanent_or_retryable_failure(
    runtime: Runtime,
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    sms_inbox: int,
    twilio: FakeTwilio,
    fixture: str,
    status: int,
    outcome: str,
    text: str,
) -> None:
    message_id = await answer_a_customer_sms(runtime, client, workspace, sms_inbox, "Hello")
    twilio.answer_next((status, fixture_json(fixture)))

    await deliver_over_one_client(runtime)

    [after] = await messages(runtime, id=message_id)
    assert after.delivery_status == outcome
    shown = after.failure_reason if outcome == "failed" else after.meta["last_delivery_error"]
    assert shown is not None and text in shown and f"HTTP {status}" in shown
