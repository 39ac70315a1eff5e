"""NUL characters (`\\u0000` in JSON, `%00` in forms) never cause a server error: public routes,
signed provider webhooks and agent routes store the text with U+FFFD in the NUL's place
(PostgreSQL cannot store NUL), and lookups compare with the same replacement."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import PASSWORD, WorkspaceFixture, customer_writes, login
from tests.support.meta import APP_SECRET, configure_meta, fixture_bytes, post_webhook
from tests.support.meta_graph import GraphServer, running_graph
from tests.support.twilio import fixture_pairs, post_signed
from tests.support.twilio_inbox import twilio_inbox
from tests.support.widget import widget_key
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.domain.channels import Channel
from threadline.workspace.create import create_inbox

pytestmark = pytest.mark.anyio

NUL = "\x00"
REPLACED = "\ufffd"
TELEGRAM_SECRET = "nul-test-secret"


async def stored_messages(runtime: Runtime, channel: str) -> list[t.Message]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(t.Message).where(t.Message.channel == channel).order_by(t.Message.id)
        )
        return list(rows.scalars())


async def customer_of(runtime: Runtime, message: t.Message) -> t.Customer:
    async with runtime.sessionmaker() as session:
        conversation = await session.get(t.Conversation, message.conversation_id)
        assert conversation is not None
        customer = await session.get(t.Customer, conversation.customer_id)
        assert customer is not None
        return customer


async def assert_stored_with_replacements(
    runtime: Runtime, channel: str, text: str, customer_name: str
) -> None:
    """One message arrived on `channel`: its text and its customer's name as given."""
    [stored] = await stored_messages(runtime, channel)
    assert stored.text == text
    assert (await customer_of(runtime, stored)).name == customer_name


@pytest.fixture
def graph() -> Iterator[GraphServer]:
    with running_graph() as server:
        yield server


# --- Signed provider webhooks: stored, and acknowledged so the provider stops resending ----


async def test_a_twilio_sms_with_nul_is_stored_once_and_acknowledged(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    inbox_id = await twilio_inbox(runtime, workspace, "sms")
    pairs = [
        (name, f"Is my order{NUL} on its way?" if name == "Body" else value)
        for name, value in fixture_pairs("sms_inbound.form")
    ]
    assert any(NUL in value for _, value in pairs)

    first = await post_signed(client, f"/webhooks/twilio/{inbox_id}/sms", pairs)
    again = await post_signed(client, f"/webhooks/twilio/{inbox_id}/sms", pairs)

    assert first.status_code == 200, first.text
    assert first.headers["content-type"].startswith("application/xml")
    assert again.status_code == 200, again.text
    [stored] = await stored_messages(runtime, "sms")
    assert stored.text == f"Is my order{REPLACED} on its way?"


async def test_a_twilio_sms_with_a_nul_in_its_sid_is_recognised_when_redelivered(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    inbox_id = await twilio_inbox(runtime, workspace, "sms")
    pairs = [
        (name, value + NUL if name in {"MessageSid", "SmsMessageSid"} else value)
        for name, value in fixture_pairs("sms_inbound.form")
    ]

    for _ in range(2):
        response = await post_signed(client, f"/webhooks/twilio/{inbox_id}/sms", pairs)
        assert response.status_code == 200, response.text

    [stored] = await stored_messages(runtime, "sms")
    assert stored.provider_message_id is not None
    assert stored.provider_message_id.endswith(REPLACED)


async def test_a_telegram_update_with_nul_is_stored_and_acknowledged(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    async with runtime.uow() as uow:
        inbox = await create_inbox(
            uow,
            workspace.id,
            name="Acme bot",
            channel=Channel.TELEGRAM,
            settings={"webhook_secret": TELEGRAM_SECRET},
            secret="7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        )
        await uow.commit()
    update = {
        "update_id": 10001,
        "message": {
            "message_id": 1366,
            "from": {"id": 1111111, "is_bot": False, "first_name": f"Te{NUL}st"},
            "chat": {"id": 1111111, "first_name": f"Te{NUL}st", "type": "private"},
            "date": 1441645532,
            "text": f"Hello{NUL}, my parcel",
        },
    }

    response = await client.post(
        f"/webhooks/telegram/{inbox.id}",
        content=json.dumps(update),
        headers={
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
        },
    )

    assert response.status_code == 200, response.text
    await assert_stored_with_replacements(
        runtime, "telegram", f"Hello{REPLACED}, my parcel", f"Te{REPLACED}st"
    )


async def test_a_whatsapp_message_with_nul_is_stored_and_acknowledged(
    runtime: Runtime,
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    graph: GraphServer,
    tmp_path: Any,
) -> None:
    meta = await configure_meta(runtime, workspace, graph, tmp_path)
    payload = json.loads(fixture_bytes("whatsapp", "text.json"))
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"][0]["text"]["body"] = f"Zepsuty{NUL} czajnik"
    value["contacts"][0]["profile"]["name"] = f"Zofia{NUL} Nowak"
    # Meta escapes it as \u0000 in the signed bytes, as json.dumps does.
    raw = json.dumps(payload).encode()
    assert b"\\u0000" in raw

    response = await post_webhook(client, "whatsapp", meta.whatsapp, raw, secret=APP_SECRET)

    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 1
    await assert_stored_with_replacements(
        runtime, "whatsapp", f"Zepsuty{REPLACED} czajnik", f"Zofia{REPLACED} Nowak"
    )


# --- Public routes -----------------------------------------------------------------------------


async def test_a_widget_message_with_nul_is_stored(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    key = await widget_key(runtime, workspace)
    session = await client.post("/api/v1/widget/session", json={"inbox": key})
    token = session.json()["token"]

    response = await client.post(
        "/api/v1/widget/messages",
        content=json.dumps({"text": f"Is the kettle{NUL} in stock?", "name": f"O{NUL}la"}),
        headers={"X-Visitor-Token": token, "Content-Type": "application/json"},
    )

    assert response.status_code == 201, response.text
    await assert_stored_with_replacements(
        runtime, "web_chat", f"Is the kettle{REPLACED} in stock?", f"O{REPLACED}la"
    )


async def test_a_contact_form_with_nul_is_stored_from_a_browser_and_from_json(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    async with runtime.uow() as uow:
        inbox = await create_inbox(uow, workspace.id, name="Form", channel=Channel.FORM)
        await uow.commit()
    as_browser = await client.post(
        f"/forms/{inbox.id}",
        content=f"email=ann%40example.com&name=Ann%00&message={quote('Hi' + NUL + 'there')}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    as_json = await client.post(
        f"/forms/{inbox.id}",
        content=json.dumps({"email": "ann@example.com", "message": f"Again{NUL}", "x": NUL}),
        headers={"Content-Type": "application/json"},
    )

    assert as_browser.status_code == 200, as_browser.text
    assert as_json.status_code == 201, as_json.text
    first, second = await stored_messages(runtime, "form")
    assert first.text == f"Hi{REPLACED}there"
    assert first.meta["form"]["name"] == f"Ann{REPLACED}"
    assert second.text == f"Again{REPLACED}"
    assert second.meta["form"]["x"] == REPLACED
    assert (await customer_of(runtime, first)).id == (await customer_of(runtime, second)).id


@pytest.mark.parametrize("field", ["workspace", "email"])
async def test_signing_in_with_nul_is_refused_as_a_failed_sign_in(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, field: str
) -> None:
    body = {"workspace": workspace.slug, "email": f"admin@{workspace.slug}.example.com"}
    body["password"] = PASSWORD
    body[field] = body[field][:3] + NUL + body[field][3:]

    response = await client.post(
        "/api/v1/auth/login",
        content=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


# --- Agent routes, and lookups with the same replacement -----------------------------------


@dataclass(frozen=True)
class CustomerEdit:
    customer_id: int
    agent: dict[str, str]
    patched: httpx.Response
    card: httpx.Response


async def jan_edited_as_sent(
    client: httpx.AsyncClient, ws: WorkspaceFixture, content: str | bytes
) -> CustomerEdit:
    """Jan emails in; the agent sends `content` as the JSON body of an edit of his customer,
    byte for byte, then reads his card back."""
    contact = await customer_writes(client, ws, "email", "email", "jan@example.com", "Hi")
    agent = await login(client, ws.slug, "agent")
    url = f"/api/v1/customers/{contact['customer_id']}"
    patched = await client.patch(
        url, content=content, headers={**agent, "Content-Type": "application/json"}
    )
    card = await client.get(url, headers=agent)
    return CustomerEdit(contact["customer_id"], agent, patched, card)


async def test_an_agent_edit_with_nul_is_stored_and_found_by_the_same_search(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    edit = await jan_edited_as_sent(
        client,
        workspace,
        json.dumps({"name": f"Jan{NUL} Kowalski", "attributes": {f"no{NUL}te": f"V{NUL}IP"}}),
    )
    found = await client.get("/api/v1/customers", params={"q": f"Jan{NUL} Kow"}, headers=edit.agent)

    patched, card = edit.patched, edit.card
    assert patched.status_code == 200, patched.text
    customer = card.json()["customer"]
    assert customer["name"] == f"Jan{REPLACED} Kowalski"
    assert customer["attributes"] == {f"no{REPLACED}te": f"V{REPLACED}IP"}
    assert found.status_code == 200, found.text
    assert [c["id"] for c in found.json()["items"]] == [edit.customer_id]


async def test_a_lone_surrogate_is_answered_and_stored_as_the_replacement_character(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    """JSON can escape half a UTF-16 pair (\\ud800), which no database (nor UTF-8) holds."""
    edit = await jan_edited_as_sent(
        client, workspace, b'{"name": "Jan \\ud800", "attributes": {"\\udc00": "x"}}'
    )

    patched, card = edit.patched, edit.card
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == f"Jan {REPLACED}"
    assert card.json()["customer"]["name"] == f"Jan {REPLACED}"
    assert card.json()["customer"]["attributes"] == {REPLACED: "x"}


async def test_an_identity_with_nul_finds_its_customer_again(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    first = await customer_writes(
        client, workspace, "api", "external", f"shop-user{NUL}42", f"First{NUL} message"
    )
    second = await customer_writes(
        client, workspace, "api", "external", f"shop-user{NUL}42", "Second message"
    )
    agent = await login(client, workspace.slug, "agent")
    thread = await client.get(
        f"/api/v1/conversations/{first['conversation_id']}/messages", headers=agent
    )

    assert second["customer_id"] == first["customer_id"]
    assert second["conversation_id"] == first["conversation_id"]
    async with runtime.sessionmaker() as session:
        values = (
            await session.execute(
                select(t.Identity.value).where(t.Identity.customer_id == first["customer_id"])
            )
        ).scalars()
        assert list(values) == [f"shop-user{REPLACED}42"]
        stored = await session.execute(select(func.count()).select_from(t.Message))
        assert stored.scalar_one() == 2
    assert [m["text"] for m in thread.json()["items"]] == [
        f"First{REPLACED} message",
        "Second message",
    ]
