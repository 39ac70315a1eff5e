"""A valid call of every write operation of the API an admin makes, for the walk in
test_every_write_is_audited.py: the objects it needs are made first, then the call itself,
whose audit entry the walk looks for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tests.audit.admin_at_work import Admin, Body
from tests.conftest import PASSWORD, login

Example = Callable[[Admin], Awaitable[tuple[str, Body]]]


def _fixed(url: str, body: Body = None) -> Example:
    async def example(_admin: Admin) -> tuple[str, Body]:
        return url, body

    return example


def _on(collection: str, made: Callable[[Admin], Awaitable[int]], tail: str, body: Body) -> Example:
    """A call on the one object of `collection` the examples share (made when first needed)."""

    async def example(admin: Admin) -> tuple[str, Body]:
        return f"/api/v1/{collection}/{await made(admin)}{tail}", body

    return example


def _on_new(collection: str, made: dict[str, Any], tail: str = "", body: Body = None) -> Example:
    """A call on an object of `collection` made for it (POST `made` first)."""

    async def example(admin: Admin) -> tuple[str, Body]:
        made_id = await admin.new(f"/api/v1/{collection}", made)
        return f"/api/v1/{collection}/{made_id}{tail}", body

    return example


async def _second_sign_in(admin: Admin) -> tuple[str, Body]:
    # Signed in again, so that signing this token out leaves the walk's own signed in.
    admin.next_call_headers = await login(admin.client, admin.workspace.slug, "admin")
    return "/api/v1/auth/logout", None


async def _patch_agent(admin: Admin) -> tuple[str, Body]:
    return f"/api/v1/agents/{admin.workspace.agent_id}", {"capacity": {"budget": 7}}


async def _assign(admin: Admin) -> tuple[str, Body]:
    url = f"/api/v1/conversations/{await admin.conversation()}/assign"
    return url, {"assignee_id": admin.workspace.agent_id}


async def _transfer(admin: Admin) -> tuple[str, Body]:
    url = f"/api/v1/conversations/{await admin.conversation()}/transfer"
    return url, {"agent_id": admin.workspace.supervisor_id, "note": "Over to you, Sue."}


async def _members(admin: Admin) -> tuple[str, Body]:
    url = f"/api/v1/teams/{await admin.team()}/members"
    return url, {"agent_ids": [admin.workspace.agent_id]}


async def _wrap_up(admin: Admin) -> tuple[str, Body]:
    code = "refund_given"
    await admin.made_once(
        "wrap-up code",
        lambda: admin.new("/api/v1/wrap-up-codes", {"code": code, "label": "Refund"}),
    )
    url = f"/api/v1/conversations/{await admin.conversation()}/wrap-up"
    return url, {"code": code, "summary": "Refund sent"}


async def _offer_status(admin: Admin) -> tuple[str, Body]:
    offer = await admin.customer_with(
        "offers", {"product": "Kettle lid", "price": "9.99", "currency": "EUR"}
    )
    return f"/api/v1/offers/{offer}", {"status": "accepted"}


ORDER = {"number": "A-1001", "placed_at": "2026-11-01T10:00:00+00:00", "items": [{"sku": "KET-1"}]}


async def _order_status(admin: Admin) -> tuple[str, Body]:
    order = await admin.customer_with("orders", ORDER)
    return f"/api/v1/orders/{order}", {"status": "shipped"}


async def _undo_merge(admin: Admin) -> tuple[str, Body]:
    return f"/api/v1/merges/{await admin.merge()}/undo", None


async def _merge(admin: Admin) -> tuple[str, Body]:
    source = await admin.new("/api/v1/customers", {"name": "Carla Again"})
    return f"/api/v1/customers/{await admin.customer()}/merge", {"source_customer_id": source}


async def _read_one(admin: Admin) -> tuple[str, Body]:
    return f"/api/v1/notifications/{await admin.notification()}/read", None


async def _read_all(admin: Admin) -> tuple[str, Body]:
    await admin.notification()
    return "/api/v1/notifications/read-all", None


async def _relations(admin: Admin) -> tuple[str, Body]:
    kettle = await admin.product("KET-1")
    await admin.product("LID-1")
    return f"/api/v1/products/{kettle}/relations", {"complementary": ["LID-1"]}


def _answer_offer(answer: str) -> Example:
    async def example(admin: Admin) -> tuple[str, Body]:
        offer = await admin.routing_offer(f"visitor-{answer}")
        return f"/api/v1/routing/offers/{offer}/{answer}", None

    return example


async def _widget(admin: Admin) -> tuple[str, Body]:
    inbox = admin.workspace.inboxes["web_chat"]
    return f"/api/v1/widget/inboxes/{inbox}", {"welcome_text": "Witamy!"}


CANNED = {"shortcut": "thanks", "title": "Thanks", "body": "Thank you for writing."}
SCRIPT = {"label": "refund", "script": "Ask for the receipt."}
CALENDAR = {"name": "Office hours", "weekly": {"0": [["08:00", "16:00"]]}}
POLICY = {"name": "Email", "first_response_seconds": 3600}
TASK = {"title": "Call back", "due_at": "2026-11-03T09:00:00+00:00"}
CODE = {"code": "info_given", "label": "Information given"}
PRODUCT = {"sku": "KET-9", "name": "Kettle 9", "price": "59.00", "currency": "EUR"}

# "METHOD path" -> (the start of the action its entry must have, the call)
EXAMPLES: dict[str, tuple[str, Example]] = {
    "POST /api/v1/agents": (
        "agent.created",
        _fixed("/api/v1/agents", {"email": "nina@acme.example.com", "name": "Nina New"}),
    ),
    "POST /api/v1/agents/me/presence": (
        "agent.updated",
        _fixed("/api/v1/agents/me/presence", {"presence": "away"}),
    ),
    "PATCH /api/v1/agents/{agent_id}": ("agent.updated", _patch_agent),
    "POST /api/v1/api-keys": ("api_key.created", _fixed("/api/v1/api-keys", {"name": "Shop"})),
    "DELETE /api/v1/api-keys/{key_id}": ("api_key.revoked", _on_new("api-keys", {"name": "Old"})),
    "POST /api/v1/auth/login": (
        "sign_in.succeeded",
        _fixed(
            "/api/v1/auth/login",
            {"workspace": "acme", "email": "admin@acme.example.com", "password": PASSWORD},
        ),
    ),
    "POST /api/v1/auth/logout": ("sign_out", _second_sign_in),
    "POST /api/v1/canned-responses": (
        "canned_response.created",
        _fixed("/api/v1/canned-responses", CANNED),
    ),
    "PUT /api/v1/canned-responses/{canned_response_id}": (
        "canned_response.updated",
        _on_new(
            "canned-responses", {**CANNED, "shortcut": "t2"}, body={**CANNED, "shortcut": "t2b"}
        ),
    ),
    "DELETE /api/v1/canned-responses/{canned_response_id}": (
        "canned_response.deleted",
        _on_new("canned-responses", {**CANNED, "shortcut": "t3"}),
    ),
    "POST /api/v1/conversations/{conversation_id}/assign": ("conversation.updated", _assign),
    "PUT /api/v1/conversations/{conversation_id}/labels": (
        "conversation_label.created",
        _on("conversations", Admin.conversation, "/labels", {"labels": ["kettle"]}),
    ),
    "POST /api/v1/conversations/{conversation_id}/notes": (
        "message.created",
        _on("conversations", Admin.conversation, "/notes", {"text": "Checked the warranty."}),
    ),
    "POST /api/v1/conversations/{conversation_id}/priority": (
        "conversation.updated",
        _on("conversations", Admin.conversation, "/priority", {"priority": "high"}),
    ),
    "POST /api/v1/conversations/{conversation_id}/replies": (
        "message.created",
        _on("conversations", Admin.conversation, "/replies", {"text": "We are sending a new one."}),
    ),
    "POST /api/v1/conversations/{conversation_id}/route": (
        "conversation.",
        _on("conversations", Admin.conversation, "/route", None),
    ),
    "POST /api/v1/conversations/{conversation_id}/status": (
        "conversation.updated",
        _on("conversations", Admin.conversation, "/status", {"status": "pending"}),
    ),
    "POST /api/v1/conversations/{conversation_id}/transfer": ("conversation.updated", _transfer),
    "POST /api/v1/conversations/{conversation_id}/wrap-up": ("conversation.updated", _wrap_up),
    "PATCH /api/v1/csat/settings": (
        "csat_settings.",
        _fixed("/api/v1/csat/settings", {"delay_seconds": 600}),
    ),
    "POST /api/v1/customers": ("customer.created", _fixed("/api/v1/customers", {"name": "Cy"})),
    "PATCH /api/v1/customers/{customer_id}": (
        "customer.updated",
        _on("customers", Admin.customer, "", {"labels": ["vip"]}),
    ),
    "POST /api/v1/customers/{customer_id}/identities": (
        "identity.created",
        _on(
            "customers",
            Admin.customer,
            "/identities",
            {"kind": "email", "value": "carla@example.com"},
        ),
    ),
    "POST /api/v1/customers/{customer_id}/merge": ("customer_merge.created", _merge),
    "POST /api/v1/customers/{customer_id}/notes": (
        "note.created",
        _on("customers", Admin.customer, "/notes", {"text": "Prefers a call after 5 pm."}),
    ),
    "POST /api/v1/customers/{customer_id}/offers": (
        "offer.created",
        _on(
            "customers",
            Admin.customer,
            "/offers",
            {"product": "Descaler", "price": "4.99", "currency": "EUR"},
        ),
    ),
    "POST /api/v1/customers/{customer_id}/orders": (
        "order.created",
        _on("customers", Admin.customer, "/orders", {**ORDER, "number": "A-1002"}),
    ),
    "POST /api/v1/inboxes": (
        "inbox.created",
        _fixed("/api/v1/inboxes", {"name": "Shop app", "channel": "api"}),
    ),
    "PATCH /api/v1/inboxes/{inbox_id}": (
        "inbox.updated",
        _on_new("inboxes", {"name": "Second app", "channel": "api"}, body={"name": "Renamed"}),
    ),
    "POST /api/v1/label-scripts": ("label_script.created", _fixed("/api/v1/label-scripts", SCRIPT)),
    "PUT /api/v1/label-scripts/{label_script_id}": (
        "label_script.updated",
        _on_new(
            "label-scripts",
            {"label": "warranty", "script": "Check"},
            body={"label": "warranty", "script": "Ask"},
        ),
    ),
    "DELETE /api/v1/label-scripts/{label_script_id}": (
        "label_script.deleted",
        _on_new("label-scripts", {"label": "spam", "script": "Close it"}),
    ),
    "POST /api/v1/merges/{merge_id}/undo": ("customer_merge.undone", _undo_merge),
    "POST /api/v1/notifications/read-all": ("notification.", _read_all),
    "POST /api/v1/notifications/{notification_id}/read": ("notification.updated", _read_one),
    "PATCH /api/v1/offers/{offer_id}": ("offer.updated", _offer_status),
    "PATCH /api/v1/orders/{order_id}": ("order.updated", _order_status),
    "POST /api/v1/products": ("product.created", _fixed("/api/v1/products", PRODUCT)),
    "PATCH /api/v1/products/{product_id}": (
        "product.updated",
        _on_new("products", {**PRODUCT, "sku": "KET-10"}, body={"price": "55.00"}),
    ),
    "DELETE /api/v1/products/{product_id}": (
        "product.deleted",
        _on_new("products", {**PRODUCT, "sku": "KET-11"}),
    ),
    "PUT /api/v1/products/{product_id}/relations": ("product_relation.created", _relations),
    "POST /api/v1/routing/offers/{offer_id}/accept": (
        "routing_offer.updated",
        _answer_offer("accept"),
    ),
    "POST /api/v1/routing/offers/{offer_id}/decline": (
        "routing_offer.updated",
        _answer_offer("decline"),
    ),
    "PUT /api/v1/routing/settings": (
        "routing_settings.",
        _fixed("/api/v1/routing/settings", {"mode": "manual", "weights": {"idle": 2}}),
    ),
    "POST /api/v1/sla/calendars": (
        "business_calendar.created",
        _fixed("/api/v1/sla/calendars", CALENDAR),
    ),
    "PATCH /api/v1/sla/calendars/{calendar_id}": (
        "business_calendar.updated",
        _on_new("sla/calendars", {**CALENDAR, "name": "Weekend"}, body={"always_open": True}),
    ),
    "POST /api/v1/sla/policies": ("sla_policy.created", _fixed("/api/v1/sla/policies", POLICY)),
    "PATCH /api/v1/sla/policies/{policy_id}": (
        "sla_policy.updated",
        _on_new("sla/policies", {"name": "Chat"}, body={"resolution_seconds": 7200}),
    ),
    "POST /api/v1/tasks": ("task.created", _fixed("/api/v1/tasks", TASK)),
    "PATCH /api/v1/tasks/{task_id}": (
        "task.updated",
        _on_new("tasks", TASK, body={"status": "done"}),
    ),
    "POST /api/v1/teams": ("team.created", _fixed("/api/v1/teams", {"name": "Returns"})),
    "PATCH /api/v1/teams/{team_id}": (
        "team.updated",
        _on("teams", Admin.team, "", {"name": "Front desk"}),
    ),
    "PUT /api/v1/teams/{team_id}/members": ("team_member.created", _members),
    "PUT /api/v1/teams/{team_id}/routing": (
        "team_routing.",
        _on("teams", Admin.team, "/routing", {"capacity": {"budget": 50}, "steps": {}}),
    ),
    "PUT /api/v1/widget/inboxes/{inbox_id}": ("inbox.updated", _widget),
    "POST /api/v1/wrap-up-codes": ("wrap_up_code.created", _fixed("/api/v1/wrap-up-codes", CODE)),
    "PATCH /api/v1/wrap-up-codes/{code_id}": (
        "wrap_up_code.updated",
        _on_new("wrap-up-codes", {"code": "other", "label": "Other"}, body={"label": "Else"}),
    ),
}
