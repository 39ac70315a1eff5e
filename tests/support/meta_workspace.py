"""A workspace with WhatsApp and Messenger inboxes on the local Graph API, as the Meta tests
drive it: the steps they all take (a signed webhook, the customer's first text, the agent's
reply, the message as the API shows it) written once, on one object the tests are given."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import WorkspaceFixture, login
from tests.support.meta import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    POLICY,
    VERIFY_TOKEN,
    MetaInboxes,
    attachment_bytes,
    deliver,
    fixture_bytes,
    identities,
    messages,
    post_webhook,
    send_key,
)
from tests.support.meta_graph import ACCESS_TOKEN, VERSION, GraphRequest, GraphServer
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.delivery.outbound import DeliveryPolicy, DeliveryReport

CUSTOMER_WA_ID = "48601234567"  # the phone number of the WhatsApp fixtures, as Meta writes it


@dataclass
class MetaWorkspace:
    client: httpx.AsyncClient
    runtime: Runtime
    ws: WorkspaceFixture
    graph: GraphServer
    inboxes: MetaInboxes
    tmp_path: Path
    # How delivery rounds retry and wait; a test of lost answers waits for reports longer.
    policy: DeliveryPolicy = POLICY

    def inbox(self, channel: str) -> int:
        return {"whatsapp": self.inboxes.whatsapp, "messenger": self.inboxes.messenger}[channel]

    async def post(
        self,
        channel: str,
        raw: bytes,
        *,
        secret: str = APP_SECRET,
        signature: str | None = None,
    ) -> httpx.Response:
        """`raw` posted to the channel's webhook, signed with `secret` (or as `signature`
        says; "" sends none)."""
        return await post_webhook(
            self.client, channel, self.inbox(channel), raw, secret=secret, signature=signature
        )

    async def handshake(
        self,
        channel: str,
        challenge: str,
        *,
        token: str = VERIFY_TOKEN,
        mode: str = "subscribe",
        inbox_id: int | None = None,
    ) -> httpx.Response:
        """Meta's verification GET on the channel's webhook (or on inbox `inbox_id`'s)."""
        url = f"/webhooks/{channel}/{inbox_id or self.inbox(channel)}"
        params = {"hub.mode": mode, "hub.verify_token": token, "hub.challenge": challenge}
        return await self.client.get(url, params=params)

    async def post_fixture(self, channel: str, name: str) -> httpx.Response:
        return await self.post(channel, fixture_bytes(channel, name, self.graph))

    async def messages(self) -> list[t.Message]:
        return await messages(self.runtime, self.ws.id)

    async def identities(self) -> list[tuple[str, str]]:
        """(kind, value) of every identity of the workspace."""
        return [(kind, value) for kind, value, _ in await identities(self.runtime, self.ws.id)]

    async def customer_texts(self, channel: str) -> t.Message:
        """The customer's first message (the channel's text.json), stored: the only one."""
        response = await self.post_fixture(channel, "text.json")
        assert response.status_code == 200, response.text
        [inbound] = await self.messages()
        return inbound

    async def customer_texts_by_sms(self, number: str, text: str) -> Any:
        """A text from `number` to the workspace's SMS inbox through the inbound API (its
        channel left to the inbox), stored."""
        response = await self.client.post(
            "/api/v1/inbound/messages",
            headers={"X-API-Key": self.ws.api_key},
            json={
                "inbox_id": self.ws.inboxes["sms"],
                "sender": {"kind": "phone", "value": number},
                "text": text,
            },
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def agent(self) -> dict[str, str]:
        """Fresh sign-in headers of the workspace's agent (sign-ins last 12 hours)."""
        return await login(self.client, self.ws.slug, "agent")

    async def reply(
        self, agent: dict[str, str], conversation_id: int, body: dict[str, Any]
    ) -> httpx.Response:
        return await self.client.post(
            f"/api/v1/conversations/{conversation_id}/replies", headers=agent, json=body
        )

    async def replied(self, channel: str, text: str) -> tuple[int, dict[str, str]]:
        """The customer writes first and the agent answers `text` on the same channel; the
        reply's id and the agent's headers."""
        inbound = await self.customer_texts(channel)
        agent = await self.agent()
        reply = await self.reply(agent, inbound.conversation_id, {"text": text})
        assert reply.status_code == 201, reply.text
        assert reply.json()["channel"] == channel
        return int(reply.json()["id"]), agent

    async def shown(self, agent: dict[str, str], message_id: int) -> Any:
        """The message as the API shows it to the agent."""
        return (await self.client.get(f"/api/v1/messages/{message_id}", headers=agent)).json()

    async def reply_options(self, agent: dict[str, str], conversation_id: int) -> Any:
        url = f"/api/v1/conversations/{conversation_id}/reply-options"
        return (await self.client.get(url, headers=agent)).json()

    async def deliver(self) -> DeliveryReport:
        return await deliver(self.runtime, self.policy)

    async def send_key(self, message_id: int) -> str:
        return await send_key(self.runtime, message_id)

    def attachment_bytes(self, description: dict[str, Any]) -> bytes:
        return attachment_bytes(self.tmp_path, self.ws.id, description)


def assert_cloud_api_call(send: GraphRequest) -> None:
    """A Cloud API message call: to our phone number's messages, with the inbox's token."""
    assert send.path == f"/{VERSION}/{PHONE_NUMBER_ID}/messages"
    assert send.authorization == f"Bearer {ACCESS_TOKEN}"


async def cloud_api_body(
    runtime: Runtime, message_id: int, kind: str, content: dict[str, Any]
) -> dict[str, Any]:
    """The Cloud API body of our message `message_id` to the fixtures' customer."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER_WA_ID,
        # Echoed in Meta's status webhooks: recognises the reply if our send's answer is lost.
        "biz_opaque_callback_data": await send_key(runtime, message_id),
        "type": kind,
        kind: content,
    }


def template_content(name: str, language: str, *parameters: str) -> dict[str, Any]:
    """A template in the Cloud API's form: its body's parameters as text, in order."""
    return {
        "name": name,
        "language": {"code": language},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": value} for value in parameters],
            }
        ],
    }
