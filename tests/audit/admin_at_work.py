"""The admin the audit walk calls the API as, and the objects its calls need, each made once
(through the API too) when an example first asks for it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import WorkspaceFixture, customer_writes, login
from tests.support.routing import arrive, pending_offer_id, set_steps
from threadline.bootstrap import Runtime
from threadline.domain.channels import Channel

Body = dict[str, Any] | None


@dataclass
class Admin:
    """The admin at work, with what the examples made so far."""

    client: httpx.AsyncClient
    runtime: Runtime
    workspace: WorkspaceFixture
    headers: dict[str, str]
    made: dict[str, int] = field(default_factory=dict)
    # The credentials of the next call only, when they are not the admin's usual ones.
    next_call_headers: dict[str, str] | None = None

    async def call(self, method: str, url: str, body: Body = None, **headers: str) -> Any:
        response = await self.client.request(
            method, url, json=body, headers={**self.headers, **headers}
        )
        assert response.status_code < 300, f"{method} {url}: {response.text}"
        return response.json() if response.content else None

    async def made_once(self, name: str, make: Callable[[], Awaitable[int]]) -> int:
        if name not in self.made:
            self.made[name] = await make()
        return self.made[name]

    async def new(self, url: str, body: dict[str, Any]) -> int:
        made: int = (await self.call("POST", url, body))["id"]
        return made

    async def conversation(self) -> int:
        async def make() -> int:
            ws = self.workspace
            sent = await customer_writes(
                self.client, ws, "sms", "phone", "+48601234567", "My kettle leaks"
            )
            conversation_id: int = sent["conversation_id"]
            return conversation_id

        return await self.made_once("conversation", make)

    async def customer(self, name: str = "Carla Customer") -> int:
        return await self.made_once(
            f"customer {name}", lambda: self.new("/api/v1/customers", {"name": name})
        )

    async def team(self) -> int:
        return await self.made_once("team", lambda: self.new("/api/v1/teams", {"name": "Desk"}))

    async def product(self, sku: str) -> int:
        body = {"sku": sku, "name": f"Kettle {sku}", "price": "49.00", "currency": "EUR"}
        return await self.made_once(f"product {sku}", lambda: self.new("/api/v1/products", body))

    async def customer_with(self, what: str, body: dict[str, Any]) -> int:
        customer = await self.customer()
        return await self.made_once(
            what, lambda: self.new(f"/api/v1/customers/{customer}/{what}", body)
        )

    async def merge(self) -> int:
        async def make() -> int:
            target, source = await self.customer(), await self.customer("Carla Twin")
            merged = await self.call(
                "POST", f"/api/v1/customers/{target}/merge", {"source_customer_id": source}
            )
            merge_id: int = merged["id"]
            return merge_id

        return await self.made_once("merge", make)

    async def notification(self) -> int:
        """A note of Olek's that mentions the admin: the admin's unread notification."""
        conversation = await self.conversation()
        olek = await login(self.client, self.workspace.slug, "agent")
        text = {"text": "@admin could you look at this?"}
        noted = await self.client.post(
            f"/api/v1/conversations/{conversation}/notes", headers=olek, json=text
        )
        assert noted.status_code == 201, noted.text
        mine = await self.client.get("/api/v1/notifications?unread=true", headers=self.headers)
        notification_id: int = mine.json()["notifications"][0]["id"]
        return notification_id

    async def routing_offer(self, sender: str) -> int:
        """A chat offered to the admin, the only agent online who handles chats."""
        ws = self.workspace
        if "offer mode" not in self.made:
            await set_steps(self.runtime, ws.id, offer_mode=True, offer_timeout_seconds=300)
            await self.call(
                "PATCH",
                f"/api/v1/agents/{ws.admin_id}",
                {"presence": "online"},
            )
            await self.call(
                "PATCH",
                f"/api/v1/agents/{ws.admin_id}",
                {"channel_competences": {"web_chat": 9}, "capacity": {"budget": 100}},
            )
            self.made["offer mode"] = 1
        chat = await arrive(self.runtime, ws.id, ws.inboxes["web_chat"], Channel.WEB_CHAT, sender)
        return await pending_offer_id(self.runtime, chat)
