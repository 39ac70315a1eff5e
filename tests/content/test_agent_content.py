"""Agent content: canned responses with variables, label scripts, the product catalogue with
cross-sell and substitute suggestions, orders on the customer, and @mention notifications."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.conftest import WorkspaceFixture, customer_writes, login
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.domain.content.canned_responses import (
    InvalidTemplate,
    TemplateContext,
    check_template,
    render,
)
from threadline.domain.content.catalogue import (
    CatalogueProduct,
    RelationKind,
    skus_mentioned,
    suggest,
)
from threadline.domain.messaging.mentions import MentionableAgent, mention_handles, resolve_mentions
from threadline.seed.agent_content import CANNED_RESPONSES, PRODUCTS, seed_agent_content

HOSTILE_TEMPLATES = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ customer.name.__class__ }}",
    "{% for x in range(10) %}x{% endfor %}",
    "{{ config }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ customer.first_name }} {{7*7}}",
    "{# comment #}",
]

CONTEXT = TemplateContext(
    customer_name="Jan Kowalski",
    customer_email="jan@example.com",
    customer_phone="+48601234567",
    agent_name="Olek Agent",
    conversation_id=42,
    conversation_subject=None,
    workspace_name="Acme",
)


# --- pure rules ---


def test_variables_render_with_fallbacks_and_missing_values_empty() -> None:
    body = "Hi {{customer.first_name}}, {{ agent.first_name }} here about #{{conversation.id}}."
    assert check_template(body) == ["customer.first_name", "agent.first_name", "conversation.id"]
    assert render(body, CONTEXT.values()) == "Hi Jan, Olek here about #42."
    nameless = TemplateContext(None, None, None, "Olek Agent", 7, None, "Acme")
    assert render("Hi {{customer.first_name | there}}!", nameless.values()) == "Hi there!"
    assert render("Re: {{conversation.subject}}.", nameless.values()) == "Re: ."


@pytest.mark.parametrize("template", HOSTILE_TEMPLATES)
def test_a_hostile_template_is_refused_and_never_evaluated(template: str) -> None:
    with pytest.raises(InvalidTemplate):
        check_template(template)
    rendered = render(template, CONTEXT.values())
    # Nothing was evaluated: no class names, no arithmetic, no loop output.
    assert "<class" not in rendered and "49" not in rendered and "xxxxxxxxxx" not in rendered
    assert rendered.replace("Jan", "{{ customer.first_name }}") == template


def test_unknown_variables_are_named_in_the_refusal() -> None:
    with pytest.raises(InvalidTemplate, match=r"customer\.password.*known variables"):
        check_template("Dear {{customer.password}}")


def test_mentions_resolve_only_unambiguous_agents() -> None:
    text = "@kasia please look; cc @Marek. Mail me at jan@kasia.pl or @ghost, @ola@b.example.com"
    handles = mention_handles(text)
    assert handles == ["kasia", "marek", "ghost", "ola@b.example.com"]
    agents = [
        MentionableAgent(1, "kasia@a.example.com"),
        MentionableAgent(2, "marek@a.example.com"),
        MentionableAgent(3, "ola@a.example.com"),
        MentionableAgent(4, "ola@b.example.com"),
    ]
    assert resolve_mentions(handles, agents) == [1, 2, 4]
    # Two agents share "ola": the short handle names nobody, the full address names one.
    assert resolve_mentions(["ola"], agents) == []


def test_suggestions_skip_what_the_customer_owns_and_replace_what_is_unavailable() -> None:
    products = {
        1: CatalogueProduct(1, "KET-1", active=True, in_stock=True),
        2: CatalogueProduct(2, "DESC-3", active=True, in_stock=True),
        3: CatalogueProduct(3, "FILTER", active=True, in_stock=True),
        4: CatalogueProduct(4, "OLD-KET", active=False, in_stock=True),
        5: CatalogueProduct(5, "KET-2", active=True, in_stock=True),
        6: CatalogueProduct(6, "GONE", active=True, in_stock=False),
    }
    relations = [
        (1, 2, RelationKind.COMPLEMENTARY),
        (1, 3, RelationKind.COMPLEMENTARY),
        (4, 2, RelationKind.COMPLEMENTARY),
        (4, 5, RelationKind.SUBSTITUTE),
        (4, 6, RelationKind.SUBSTITUTE),
        (1, 6, RelationKind.COMPLEMENTARY),
    ]
    found = suggest(products, relations, owned_skus=["KET-1", "FILTER", "OLD-KET"])
    assert [(c.product_id, c.because_of) for c in found.cross_sell] == [(2, ("KET-1", "OLD-KET"))]
    assert [(s.product_id, s.instead_of) for s in found.substitutes] == [(5, "OLD-KET")]
    assert skus_mentioned(["is ket-2 better than KET-1?", "KET-20"], ["KET-1", "KET-2"]) == [
        "KET-2",
        "KET-1",
    ]


# --- through the API, on SQLite and PostgreSQL ---


async def _created(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(path, headers=headers, json=body)
    assert response.status_code == 201, f"{path}: {response.text}"
    created: dict[str, Any] = response.json()
    return created


@pytest.mark.anyio
async def test_canned_responses_search_render_roles_and_isolation(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    other_workspace: WorkspaceFixture,
) -> None:
    supervisor = await login(client, workspace.slug, "super")
    agent = await login(client, workspace.slug, "agent")
    url = "/api/v1/canned-responses"
    refund = await _created(
        client,
        url,
        supervisor,
        {
            "shortcut": "/Refund",
            "title": "Refund confirmed",
            "body": "Hi {{customer.first_name | there}}, your refund is on its way. {{agent.name}}",
        },
    )
    assert refund["shortcut"] == "refund"
    assert refund["variables"] == ["customer.first_name", "agent.name"]
    others = {}
    for shortcut, title in (("refund-late", "Refund delayed"), ("delivery", "Where is my ref")):
        others[shortcut] = await _created(
            client, url, supervisor, {"shortcut": shortcut, "title": title, "body": "x"}
        )

    # Agents read and search, but may not manage.
    refused = await client.post(
        url, headers=agent, json={"shortcut": "mine", "title": "Mine", "body": "x"}
    )
    assert refused.status_code == 403 and "supervisor" in refused.json()["detail"]
    assert (await client.delete(f"{url}/{refund['id']}", headers=agent)).status_code == 403
    found = await client.get(url, headers=agent, params={"q": "ref"})
    assert [r["shortcut"] for r in found.json()] == ["refund", "refund-late", "delivery"]
    exact = await client.get(url, headers=agent, params={"q": "/refund-l"})
    assert [r["shortcut"] for r in exact.json()] == ["refund-late"]

    # Bad templates are refused on save with the reason, and nothing is stored.
    for body, reason in (
        ("Hello {{customer.password}}", "unknown variable"),
        ("{{ ''.__class__ }}", "only placeholders"),
    ):
        bad = await client.post(
            url, headers=supervisor, json={"shortcut": "bad", "title": "Bad", "body": body}
        )
        assert bad.status_code == 422 and reason in bad.json()["detail"], bad.text
    taken = await client.post(
        url, headers=supervisor, json={"shortcut": "refund", "title": "Again", "body": "x"}
    )
    assert taken.status_code == 409
    assert len((await client.get(url, headers=agent)).json()) == 3

    # Editing: the shortcut is normalised again; renaming onto a taken one is a 409.
    delivery = f"{url}/{others['delivery']['id']}"
    edited = await client.put(
        delivery,
        headers=supervisor,
        json={"shortcut": "/Delivery-Late", "title": " Parcel late ", "body": "{{agent.name}}"},
    )
    assert edited.status_code == 200, edited.text
    assert {k: edited.json()[k] for k in ("shortcut", "title", "body", "variables")} == {
        "shortcut": "delivery-late",
        "title": "Parcel late",
        "body": "{{agent.name}}",
        "variables": ["agent.name"],
    }
    onto_taken = await client.put(
        delivery, headers=supervisor, json={"shortcut": "refund-late", "title": "x", "body": "x"}
    )
    assert onto_taken.status_code == 409 and "refund-late" in onto_taken.json()["detail"]
    kept = (await client.get(delivery, headers=agent)).json()
    assert (kept["shortcut"], kept["title"]) == ("delivery-late", "Parcel late")

    contact = await customer_writes(
        client, workspace, "email", "email", "jan@example.com", "Refund?", sender_name="Jan Nowak"
    )
    conversation = contact["conversation_id"]
    rendered = await client.post(
        f"/api/v1/conversations/{conversation}/canned-responses/{refund['id']}/render",
        headers=agent,
    )
    assert rendered.status_code == 200, rendered.text
    assert rendered.json()["text"] == "Hi Jan, your refund is on its way. Olek Agent"

    # A hostile body stored behind the API's back is still only text when rendered.
    async with runtime.sessionmaker() as session, session.begin():
        row = await session.get(t.CannedResponse, refund["id"])
        assert row is not None
        row.body = "{{ ''.__class__.__mro__ }} {{customer.name}} {{ 6*7 }}"
    hostile = await client.post(
        f"/api/v1/conversations/{conversation}/canned-responses/{refund['id']}/render",
        headers=agent,
    )
    assert hostile.json()["text"] == "{{ ''.__class__.__mro__ }} Jan Nowak {{ 6*7 }}"

    # Another workspace sees none of it: its ids are simply not found.
    outsider = await login(client, other_workspace.slug, "admin")
    assert (await client.get(url, headers=outsider)).json() == []
    theirs = await customer_writes(client, other_workspace, "sms", "phone", "+48601000999", "Hi")
    for method, path in (
        ("GET", f"{url}/{refund['id']}"),
        ("PUT", f"{url}/{refund['id']}"),
        ("DELETE", f"{url}/{refund['id']}"),
        (
            "POST",
            f"/api/v1/conversations/{theirs['conversation_id']}/canned-responses/"
            f"{refund['id']}/render",
        ),
        ("POST", f"/api/v1/conversations/{conversation}/canned-responses/{refund['id']}/render"),
    ):
        payload = {"shortcut": "x", "title": "x", "body": "x"} if method == "PUT" else None
        response = await client.request(method, path, headers=outsider, json=payload)
        assert response.status_code == 404, f"{method} {path}: {response.text}"
    assert (await client.get(f"{url}/{refund['id']}", headers=agent)).status_code == 200


@pytest.mark.anyio
async def test_suggestions_from_labels_orders_and_the_catalogue(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    admin = await login(client, workspace.slug, "admin")
    agent = await login(client, workspace.slug, "agent")
    shop = {"X-API-Key": workspace.api_key}
    catalogue = {
        "KET-100": ("Kettle Classic", True, True),
        "DESC-3": ("Descaler 3-pack", True, True),
        "FILTER-1": ("Limescale filter", True, True),
        "KET-OLD": ("Kettle Retro", False, True),
        "KET-200": ("Kettle Aura", True, True),
        "KET-300": ("Kettle Steel", True, False),
        "MUG-2": ("Mug set", True, True),
    }
    ids = {}
    for sku, (name, active, in_stock) in catalogue.items():
        product = await _created(
            client,
            "/api/v1/products",
            admin,
            {
                "sku": sku,
                "name": name,
                "price": "19.90",
                "currency": "pln",
                "active": active,
                "in_stock": in_stock,
            },
        )
        assert product["currency"] == "PLN"
        ids[sku] = product["id"]
    relations = {
        "KET-100": {"complementary": ["desc-3", "FILTER-1"]},
        "KET-OLD": {"complementary": ["DESC-3", "MUG-2"], "substitute": ["KET-300", "KET-200"]},
    }
    for sku, body in relations.items():
        put = await client.put(f"/api/v1/products/{ids[sku]}/relations", headers=admin, json=body)
        assert put.status_code == 200, put.text
    assert put.json()["substitute"] == ["KET-200", "KET-300"]
    unknown = await client.put(
        f"/api/v1/products/{ids['KET-100']}/relations", headers=admin, json={"substitute": ["NOPE"]}
    )
    assert unknown.status_code == 422 and "NOPE" in unknown.json()["detail"]
    for bad, reason in (({"price": "1.999"}, "price"), ({"sku": "KET 100"}, "SKU")):
        invalid = await client.post(
            "/api/v1/products",
            headers=admin,
            json={"sku": "NEW-1", "name": "New", "price": "1", "currency": "EUR", **bad},
        )
        assert invalid.status_code == 422 and reason in invalid.json()["detail"], invalid.text
    assert len((await client.get("/api/v1/products", headers=agent)).json()) == len(catalogue)
    refused = await client.post(
        "/api/v1/products",
        headers=agent,
        json={"sku": "X", "name": "X", "price": "1", "currency": "EUR"},
    )
    assert refused.status_code == 403

    warranty = await _created(
        client,
        "/api/v1/label-scripts",
        admin,
        {
            "label": "warranty",
            "script": "Ask {{customer.first_name}} for the receipt first.",
            "suggested_replies": ["Hello {{customer.first_name}}, please send us the receipt."],
        },
    )
    vip = await _created(
        client, "/api/v1/label-scripts", admin, {"label": "vip", "script": "Be nice"}
    )
    vip_url = f"/api/v1/label-scripts/{vip['id']}"
    edited = await client.put(
        vip_url,
        headers=admin,
        json={"label": " vip ", "suggested_replies": [" Thank you, {{customer.first_name}}! "]},
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["label"], edited.json()["script"]) == ("vip", None)
    assert edited.json()["suggested_replies"] == ["Thank you, {{customer.first_name}}!"]
    onto_taken = await client.put(
        vip_url, headers=admin, json={"label": "warranty", "script": "Be nice"}
    )
    assert onto_taken.status_code == 409
    fetched = await client.get(vip_url, headers=agent)
    assert fetched.status_code == 200 and fetched.json() == edited.json()
    assert (await client.delete(vip_url, headers=agent)).status_code == 403
    assert (await client.delete(vip_url, headers=admin)).status_code == 204
    assert (await client.get(vip_url, headers=agent)).status_code == 404
    listed = (await client.get("/api/v1/label-scripts", headers=agent)).json()
    assert [s["label"] for s in listed] == ["warranty"]

    contact = await customer_writes(
        client,
        workspace,
        "email",
        "email",
        "ewa@example.com",
        "My kettle leaks",
        sender_name="Ewa Lis",
    )
    customer, conversation = contact["customer_id"], contact["conversation_id"]
    placed = datetime(2026, 10, 1, 12, 0).isoformat() + "+00:00"
    order = await _created(
        client,
        f"/api/v1/customers/{customer}/orders",
        shop,
        {
            "number": "SO-1",
            "placed_at": placed,
            "items": [{"sku": "ket-100", "quantity": 1}, {"sku": "filter-1", "quantity": 2}],
        },
    )
    assert [i["name"] for i in order["items"]] == ["Kettle Classic", "Limescale filter"]
    await _created(
        client,
        f"/api/v1/customers/{customer}/orders",
        admin,
        {
            "number": "SO-0",
            "placed_at": placed,
            "status": "delivered",
            "items": [{"sku": "KET-OLD"}, {"sku": "UNKNOWN-9"}],
        },
    )
    cancelled = await _created(
        client,
        f"/api/v1/customers/{customer}/orders",
        shop,
        {"number": "SO-2", "placed_at": placed, "items": [{"sku": "DESC-3"}]},
    )
    changed = await client.patch(
        f"/api/v1/orders/{cancelled['id']}", headers=shop, json={"status": "cancelled"}
    )
    assert changed.json()["status"] == "cancelled"
    agent_order = await client.post(
        f"/api/v1/customers/{customer}/orders",
        headers=agent,
        json={"number": "SO-3", "placed_at": placed, "items": [{"sku": "MUG-2"}]},
    )
    assert agent_order.status_code == 403
    duplicate = await client.post(
        f"/api/v1/customers/{customer}/orders",
        headers=shop,
        json={"number": "SO-1", "placed_at": placed, "items": [{"sku": "MUG-2"}]},
    )
    assert duplicate.status_code == 409
    orders = (await client.get(f"/api/v1/customers/{customer}/orders", headers=agent)).json()
    assert sorted(o["number"] for o in orders) == ["SO-0", "SO-1", "SO-2"]
    assert {"sku": "UNKNOWN-9", "quantity": 1, "name": None} in next(
        o["items"] for o in orders if o["number"] == "SO-0"
    )

    labelled = await client.put(
        f"/api/v1/conversations/{conversation}/labels",
        headers=agent,
        json={"labels": ["warranty", "urgent"]},
    )
    assert labelled.status_code == 200, labelled.text
    await customer_writes(
        client, workspace, "email", "email", "ewa@example.com", "Would mug-2 fit as a gift?"
    )
    suggestions = await client.get(
        f"/api/v1/conversations/{conversation}/suggestions", headers=agent
    )
    assert suggestions.status_code == 200, suggestions.text
    found = suggestions.json()
    assert found["scripts"] == [
        {
            "label_script_id": warranty["id"],
            "label": "warranty",
            "script": "Ask Ewa for the receipt first.",
            "suggested_replies": ["Hello Ewa, please send us the receipt."],
        }
    ]
    # Owned: KET-100, FILTER-1 and the inactive KET-OLD (the cancelled descaler is not owned).
    cross = {c["product"]["sku"]: c["because_of"] for c in found["cross_sell"]}
    assert cross == {"DESC-3": ["KET-100", "KET-OLD"], "MUG-2": ["KET-OLD"]}
    # KET-300 is out of stock, so only KET-200 stands in for the retired kettle.
    assert [(s["product"]["sku"], s["instead_of"]) for s in found["substitutes"]] == [
        ("KET-200", "KET-OLD")
    ]
    assert found["mentioned_skus"] == ["MUG-2"]

    # Once the customer owns the descaler it is no longer suggested.
    await _created(
        client,
        f"/api/v1/customers/{customer}/orders",
        shop,
        {"number": "SO-4", "placed_at": placed, "items": [{"sku": "DESC-3"}]},
    )
    again = (
        await client.get(f"/api/v1/conversations/{conversation}/suggestions", headers=agent)
    ).json()
    assert [c["product"]["sku"] for c in again["cross_sell"]] == ["MUG-2"]
    # Restocking KET-300 makes it a substitute too.
    restocked = await client.patch(
        f"/api/v1/products/{ids['KET-300']}", headers=admin, json={"in_stock": True}
    )
    assert restocked.json()["in_stock"] is True
    again = (
        await client.get(f"/api/v1/conversations/{conversation}/suggestions", headers=agent)
    ).json()
    assert sorted(s["product"]["sku"] for s in again["substitutes"]) == ["KET-200", "KET-300"]

    # A deleted product is gone, and with it its place in the relations.
    ket_300 = f"/api/v1/products/{ids['KET-300']}"
    assert (await client.delete(ket_300, headers=agent)).status_code == 403
    assert (await client.delete(ket_300, headers=admin)).status_code == 204
    assert (await client.get(ket_300, headers=agent)).status_code == 404
    assert (await client.delete(ket_300, headers=admin)).status_code == 404
    retired = (await client.get(f"/api/v1/products/{ids['KET-OLD']}", headers=agent)).json()
    assert retired["substitute"] == ["KET-200"]


@pytest.mark.anyio
async def test_a_mention_notifies_the_mentioned_agent_only(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    other_workspace: WorkspaceFixture,
) -> None:
    agent = await login(client, workspace.slug, "agent")
    supervisor = await login(client, workspace.slug, "super")
    admin = await login(client, workspace.slug, "admin")
    outsider = await login(client, other_workspace.slug, "super")
    since = {
        who: (await client.get("/api/v1/events", headers=h)).json()["seq"]
        for who, h in (("agent", agent), ("super", supervisor), ("admin", admin))
    }
    contact = await customer_writes(client, workspace, "sms", "phone", "+48601000555", "Help")
    conversation = contact["conversation_id"]
    note = await _created(
        client,
        f"/api/v1/conversations/{conversation}/notes",
        agent,
        {"text": "@super can you approve this refund? (not @super@globex.example.com, @nobody)"},
    )
    assert note["meta"]["mentions"] == [workspace.supervisor_id]
    # A customer note mentions too; the author mentioning themselves gets nothing.
    await _created(
        client,
        f"/api/v1/customers/{contact['customer_id']}/notes",
        admin,
        {"text": "Agreed with @admin and @Super: voucher next time."},
    )

    mine = (await client.get("/api/v1/notifications", headers=supervisor)).json()
    assert mine["unread"] == 2
    newest, first = mine["notifications"]
    assert (
        first["conversation_id"] == conversation and first["author_agent_id"] == workspace.agent_id
    )
    assert first["excerpt"].startswith("@super can you approve")
    assert newest["customer_id"] == contact["customer_id"] and newest["note_id"] is not None
    for other in (agent, admin, outsider):
        listed = (await client.get("/api/v1/notifications", headers=other)).json()
        assert listed == {"unread": 0, "notifications": []}

    # The live event reaches the supervisor and nobody else.
    def mentions(frames: dict[str, Any]) -> list[int]:
        return [
            e["payload"]["notification"]["id"]
            for e in frames["events"]
            if e["event"] == "agent.mentioned"
        ]

    seen = {}
    for who, headers in (("agent", agent), ("super", supervisor), ("admin", admin)):
        polled = await client.get(
            "/api/v1/events", headers=headers, params={"since": since[who], "limit": 1000}
        )
        seen[who] = mentions(polled.json())
    assert seen == {"agent": [], "super": [first["id"], newest["id"]], "admin": []}

    # Marking read: only one's own notifications; another's is as unknown as a missing one.
    assert (
        await client.post(f"/api/v1/notifications/{first['id']}/read", headers=agent)
    ).status_code == 404
    assert (
        await client.post(f"/api/v1/notifications/{first['id']}/read", headers=outsider)
    ).status_code == 404
    read = await client.post(f"/api/v1/notifications/{first['id']}/read", headers=supervisor)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    unread = (
        await client.get("/api/v1/notifications", headers=supervisor, params={"unread": True})
    ).json()
    assert unread["unread"] == 1 and [n["id"] for n in unread["notifications"]] == [newest["id"]]
    cleared = await client.post("/api/v1/notifications/read-all", headers=supervisor)
    assert cleared.json() == {"marked_read": 1}
    # An API key is no agent and has no notifications.
    keyed = await client.get("/api/v1/notifications", headers={"X-API-Key": workspace.api_key})
    assert keyed.status_code == 401


@pytest.mark.anyio
async def test_demo_content_gives_every_seeded_customer_orders_and_suggestions(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    contacts = [
        await customer_writes(client, workspace, "sms", "phone", f"+4860100020{n}", "Hello")
        for n in range(3)
    ]
    await seed_agent_content(runtime.uow, workspace.id, random.Random(7))
    agent = await login(client, workspace.slug, "agent")
    shortcuts = [
        r["shortcut"] for r in (await client.get("/api/v1/canned-responses", headers=agent)).json()
    ]
    assert "refund" in shortcuts and len(shortcuts) == len(CANNED_RESPONSES)
    products = (await client.get("/api/v1/products", headers=agent)).json()
    assert len(products) == len(PRODUCTS) and any(not p["active"] for p in products)
    for contact in contacts:
        orders = (
            await client.get(f"/api/v1/customers/{contact['customer_id']}/orders", headers=agent)
        ).json()
        assert orders and all(o["items"] for o in orders)
        found = (
            await client.get(
                f"/api/v1/conversations/{contact['conversation_id']}/suggestions", headers=agent
            )
        ).json()
        offered = {c["product"]["sku"] for c in found["cross_sell"]} | {
            s["product"]["sku"] for s in found["substitutes"]
        }
        assert offered and not offered & set(found["owned_skus"])


@pytest.mark.anyio
async def test_a_mention_in_a_conversation_reaches_only_agents_who_may_see_it(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        mine, others = (
            t.Team(workspace_id=workspace.id, name=name, created_at=runtime.clock.now())
            for name in ("Agent's desk", "VIP desk")
        )
        session.add_all([mine, others])
        await session.flush()
        session.add(
            t.TeamMember(team_id=mine.id, agent_id=workspace.agent_id, workspace_id=workspace.id)
        )
        ws = await session.get(t.Workspace, workspace.id)
        assert ws is not None
        ws.agents_see_all = False
        team_of = {"mine": mine.id, "others": others.id}
    supervisor = await login(client, workspace.slug, "super")
    admin = await login(client, workspace.slug, "admin")
    mentioned = {}
    for n, which in enumerate(("mine", "others")):
        contact = await customer_writes(client, workspace, "sms", "phone", f"+4860100070{n}", "Hi")
        conversation = contact["conversation_id"]
        routed = await client.post(
            f"/api/v1/conversations/{conversation}/assign",
            json={"team_id": team_of[which]},
            headers=admin,
        )
        assert routed.status_code == 200
        note = await _created(
            client,
            f"/api/v1/conversations/{conversation}/notes",
            supervisor,
            {"text": "@agent @admin please look"},
        )
        mentioned[which] = note["meta"]["mentions"]
    # The admin sees every conversation; the agent only their team's.
    assert mentioned == {
        "mine": [workspace.agent_id, workspace.admin_id],
        "others": [workspace.admin_id],
    }
    agent = await login(client, workspace.slug, "agent")
    assert (await client.get("/api/v1/notifications", headers=agent)).json()["unread"] == 1
    assert (await client.get("/api/v1/notifications", headers=admin)).json()["unread"] == 2
