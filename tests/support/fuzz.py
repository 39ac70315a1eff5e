"""A seeded Threadline served by uvicorn in a thread of its own, for the schemathesis run.

schemathesis drives the API synchronously (one request at a time, as a client would), so the
server gets its own event loop in a background thread, with a runtime built in that loop (its
database engine belongs there). The workspace is seeded through the API itself with a few rows
of every kind, so that ids in paths can name real rows, and the ids are handed to the test.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import requests

from tests.conftest import make_workspace
from tests.support.server import running_server
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime, build_runtime
from threadline.config import Settings
from threadline.domain.channels import Channel
from threadline.domain.security.access import Principal, Role
from threadline.entrypoints.api.app import create_app
from threadline.web_chat.widget_inboxes import widget_admin_view
from threadline.workspace.auth import create_api_key, issue_token
from threadline.workspace.create import create_agent, create_inbox

T = TypeVar("T")
SECRET_KEY = "fuzz-secret-key-not-for-production"
TOKEN_TTL_SECONDS = 3600


@dataclass
class SeededApi:
    """Where the API listens, how to sign requests, and the ids of the seeded rows."""

    base_url: str
    # Path parameter name -> ids of real rows of the workspace the credentials belong to.
    ids: dict[str, list[int]] = field(default_factory=dict)
    api_key: str = ""
    visitor_token: str = ""
    widget_key: str = ""
    agents: dict[str, t.Agent] = field(default_factory=dict)
    # One connection pool for the whole run, as a client keeps its connections open.
    http: requests.Session = field(default_factory=requests.Session)

    def bearer(self, who: str) -> str:
        """A fresh token of `who` (admin, supervisor, agent), minted rather than signed in
        for (the fuzzed sign-ins fill the address's throttle): a case that signs out revokes
        only its own token, never the next case's."""
        return issue_token(self.agents[who], SECRET_KEY, datetime.now(UTC), TOKEN_TTL_SECONDS)


class ServedApi:
    """Starts the server in a thread; `stop()` shuts it and its runtime down."""

    def __init__(self, database_url: str, attachments_dir: str) -> None:
        self.settings = Settings(
            database_url=database_url,
            redis_url="",
            run_outbound_worker=False,
            secret_key=SECRET_KEY,
            attachments_dir=attachments_dir,
            token_ttl_seconds=TOKEN_TTL_SECONDS,
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._stack = AsyncExitStack()
        self._runtime: Runtime | None = None

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=120)

    def start(self) -> SeededApi:
        self._thread.start()
        return self._run(self._start())

    def stop(self) -> None:
        try:
            self._run(self._stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    async def _start(self) -> SeededApi:
        runtime = build_runtime(self.settings)
        self._runtime = runtime
        address = await self._stack.enter_async_context(running_server(runtime))
        seeded = await seed(runtime)
        seeded.base_url = f"http://{address}"
        return seeded

    async def _stop(self) -> None:
        await self._stack.aclose()
        if self._runtime is not None:
            await self._runtime.close()


async def seed(runtime: Runtime) -> SeededApi:
    """A workspace with a few rows of every kind, made through the API as a client would."""
    ws = await make_workspace(runtime, "acme")
    await make_workspace(runtime, "globex")
    async with runtime.uow() as uow:
        victim = await create_agent(
            uow, ws.id, email="victim@acme.example.com", name="Vic Victim", role=Role.AGENT
        )
        extra_inboxes = {
            "form": await create_inbox(uow, ws.id, name="form inbox", channel=Channel.FORM),
            "telegram": await create_inbox(
                uow, ws.id, name="telegram inbox", channel=Channel.TELEGRAM, secret="1:bot"
            ),
        }
        victim_key, _ = await create_api_key(uow.session, ws.id, "victim", uow.clock.now())
        await uow.commit()
    async with runtime.sessionmaker() as session:
        agents = {
            "admin": await session.get(t.Agent, ws.admin_id),
            "supervisor": await session.get(t.Agent, ws.supervisor_id),
            "agent": await session.get(t.Agent, ws.agent_id),
        }
    async with runtime.uow() as uow:
        view = await widget_admin_view(
            uow, Principal(ws.id, Role.ADMIN, ws.admin_id), ws.inboxes["web_chat"]
        )
        await uow.commit()
    seeded = SeededApi(
        base_url="",
        api_key=ws.api_key,
        widget_key=str(view["public_key"]),
        agents={k: v for k, v in agents.items() if v is not None},
    )
    admin = {"Authorization": f"Bearer {seeded.bearer('admin')}"}
    agent = {"Authorization": f"Bearer {seeded.bearer('agent')}"}
    key = {"X-API-Key": ws.api_key}
    ids: dict[str, list[int]] = {
        # Not the agent and supervisor whose tokens the run uses: an admin may deactivate
        # them. Admins cannot deactivate themselves.
        "agent_id": [victim.id, ws.admin_id],
        "inbox_id": [*ws.inboxes.values(), *(i.id for i in extra_inboxes.values())],
        "key_id": [victim_key.id],
    }

    def add(name: str, value: int) -> None:
        ids.setdefault(name, []).append(value)

    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://threadline.test") as api:

        async def call(method: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
            response = await api.request(method, path, headers=headers, **kw)
            assert response.status_code < 300, (method, path, response.text)
            return response.json() if response.content else None

        senders = [
            ("email", "email", "jan@example.com"),
            ("sms", "phone", "+48601234567"),
            ("whatsapp", "phone", "+48601234568"),
            ("email", "email", "ola@example.com"),
        ]
        for channel, kind, value in senders:
            for text in ("Where is my parcel?", "It was due on Monday."):
                stored = await call(
                    "POST",
                    "/api/v1/inbound/messages",
                    key,
                    json={
                        "inbox_id": ws.inboxes[channel],
                        "channel": channel,
                        "sender": {"kind": kind, "value": value},
                        "text": text,
                    },
                )
            add("customer_id", stored["customer_id"])
            add("conversation_id", stored["conversation_id"])
            add("message_id", stored["message_id"])
        customer, conversation = ids["customer_id"][0], ids["conversation_id"][0]
        reply = await call(
            "POST", f"/api/v1/conversations/{conversation}/replies", agent, json={"text": "On it."}
        )
        add("message_id", reply["id"])
        await call("POST", f"/api/v1/customers/{customer}/notes", agent, json={"text": "VIP"})
        offer = await call(
            "POST",
            f"/api/v1/customers/{customer}/offers",
            agent,
            json={"product": "Kettle", "price": "9.99", "currency": "EUR"},
        )
        add("offer_id", offer["id"])
        task = await call(
            "POST",
            "/api/v1/tasks",
            agent,
            json={
                "title": "Call back",
                "due_at": "2030-01-01T10:00:00Z",
                "customer_id": customer,
            },
        )
        add("task_id", task["id"])
        team = await call("POST", "/api/v1/teams", admin, json={"name": "Kettles"})
        add("team_id", team["id"])
        canned = await call(
            "POST",
            "/api/v1/canned-responses",
            admin,
            json={"shortcut": "thanks", "title": "Thanks", "body": "Thank you, {{customer.name}}"},
        )
        add("canned_response_id", canned["id"])
        product = await call(
            "POST",
            "/api/v1/products",
            admin,
            json={"sku": "K-200", "name": "Kettle K-200", "price": "149.00", "currency": "PLN"},
        )
        add("product_id", product["id"])
        order = await call(
            "POST",
            f"/api/v1/customers/{customer}/orders",
            key,
            json={
                "number": "A-1001",
                "placed_at": "2026-10-01T10:00:00Z",
                "items": [{"sku": "K-200", "quantity": 1}],
            },
        )
        add("order_id", order["id"])
        script = await call(
            "POST",
            "/api/v1/label-scripts",
            admin,
            json={"label": "refund", "script": "Ask for the order number", "suggested_replies": []},
        )
        add("label_script_id", script["id"])
        code = await call(
            "POST",
            "/api/v1/wrap-up-codes",
            admin,
            json={"code": "kettle_replaced", "label": "Kettle replaced"},
        )
        add("code_id", code["id"])
        calendar = await call(
            "POST",
            "/api/v1/sla/calendars",
            admin,
            json={"name": "Office", "weekly": {"0": [["08:00", "16:00"]]}},
        )
        add("calendar_id", calendar["id"])
        policy = await call(
            "POST",
            "/api/v1/sla/policies",
            admin,
            json={"name": "Email", "first_response_seconds": 3600},
        )
        add("policy_id", policy["id"])
        merge = await call(
            "POST",
            f"/api/v1/customers/{ids['customer_id'][1]}/merge",
            admin,
            json={"source_customer_id": ids["customer_id"][3]},
        )
        add("merge_id", merge["id"])
        visit = await call("POST", "/api/v1/widget/session", {}, json={"inbox": seeded.widget_key})
        seeded.visitor_token = visit["token"]
        await call(
            "POST",
            "/api/v1/widget/messages",
            {"X-Visitor-Token": seeded.visitor_token},
            json={"text": "Hello from the shop"},
        )
    seeded.ids = ids
    return seeded
