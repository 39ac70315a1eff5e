"""An email address names one inbox in the whole installation, on a domain its workspace may use.

Issue 13, hole 1: any workspace admin could give an inbox another workspace's address and
the SMTP server delivered that company's mail to whichever inbox matched first.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiosmtplib
import httpx
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError

from tests.conftest import WorkspaceFixture, login
from tests.support.email_inbound import simple_mail
from tests.support.email_smtp import send_mail
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.entrypoints.smtp_server import SmtpServerHandle
from threadline.integrations.email.addresses import reply_address
from threadline.workspace.email_domains import allow_email_domain

pytestmark = pytest.mark.anyio

ACME_SUPPORT = "support@acme.example.com"
GLOBEX_SUPPORT = "help@globex.example.com"


def assert_problem(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail = response.json()["detail"]
    for word in words:
        assert word in detail, detail


async def operator_allows(runtime: Runtime, ws: WorkspaceFixture, domain: str) -> None:
    """What `threadline email-domain allow` does."""
    async with runtime.uow() as uow:
        await allow_email_domain(uow, ws.id, domain)
        await uow.commit()


@pytest.fixture
async def acme_allowed(runtime: Runtime, workspace: WorkspaceFixture) -> None:
    """The operator has let the workspace use acme.example.com."""
    await operator_allows(runtime, workspace, "acme.example.com")


@pytest.fixture
async def acme_support(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, acme_allowed: None
) -> None:
    """The workspace's email inbox is support@acme.example.com."""
    assert (await set_address(client, workspace, ACME_SUPPORT)).status_code == 200


async def set_address(
    client: httpx.AsyncClient, ws: WorkspaceFixture, address: str | None
) -> httpx.Response:
    admin = await login(client, ws.slug, "admin")
    return await client.patch(
        f"/api/v1/inboxes/{ws.inboxes['email']}", headers=admin, json={"address": address}
    )


async def new_email_inbox(
    client: httpx.AsyncClient, ws: WorkspaceFixture, address: str, name: str = "Sales"
) -> httpx.Response:
    admin = await login(client, ws.slug, "admin")
    return await client.post(
        "/api/v1/inboxes",
        headers=admin,
        json={"name": name, "channel": "email", "address": address},
    )


async def mail_to(smtp: SmtpServerHandle, recipient: str, message_id: str) -> None:
    raw = simple_mail(to=recipient, message_id=f"<{message_id}>", body=f"Mail {message_id}")
    await send_mail(smtp, "jane@customer.example", [recipient], raw)


async def inbox_ids_of_messages(runtime: Runtime) -> dict[str, int | None]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(select(t.Message.text, t.Message.inbox_id))
        return {str(text_): inbox_id for text_, inbox_id in rows}


async def test_another_workspaces_address_cannot_be_taken_and_its_mail_stays_with_it(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    other_workspace: WorkspaceFixture,
    smtp: SmtpServerHandle,
    acme_support: None,
) -> None:
    for attempt in (ACME_SUPPORT, "Support@ACME.example.com", "sales@acme.example.com"):
        taken = await new_email_inbox(client, other_workspace, attempt)
        assert_problem(taken, 409, "acme.example.com", "another workspace")
        patched = await set_address(client, other_workspace, attempt)
        assert_problem(patched, 409, "acme.example.com", "another workspace")

    await mail_to(smtp, ACME_SUPPORT, "m1@customer.example")
    stored = await inbox_ids_of_messages(runtime)
    assert stored["Mail m1@customer.example"] == workspace.inboxes["email"]


async def test_an_address_on_a_domain_nobody_allowed_is_refused_with_what_to_do(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    refused = await new_email_inbox(client, workspace, "sales@shop.example.org")
    assert_problem(
        refused,
        403,
        "shop.example.org",
        "threadline email-domain allow --workspace acme --domain shop.example.org",
    )
    assert_problem(await set_address(client, workspace, "support@shop.example.org"), 403)

    await operator_allows(runtime, workspace, "Shop.Example.ORG")
    created = await new_email_inbox(client, workspace, " Sales@Shop.Example.org ")
    assert created.status_code == 201, created.text
    assert created.json()["address"] == "sales@shop.example.org"
    # The same address again in the same workspace, however it is written.
    again = await new_email_inbox(client, workspace, "SALES@shop.example.org", name="Sales 2")
    assert_problem(again, 409, "sales@shop.example.org", "'Sales'")
    # Subaddresses are the per-conversation reply addresses, not inbox addresses.
    plus = await set_address(client, workspace, "support+vip@shop.example.org")
    assert_problem(plus, 422, "+", "support@shop.example.org")
    # Clearing an address needs no domain.
    cleared = await set_address(client, workspace, None)
    assert cleared.status_code == 200 and cleared.json()["address"] is None


async def test_the_database_refuses_a_second_inbox_with_an_address_whatever_its_case(
    runtime: Runtime, workspace: WorkspaceFixture, other_workspace: WorkspaceFixture
) -> None:
    async with runtime.sessionmaker() as session:
        ours = await session.get(t.Inbox, workspace.inboxes["email"])
        assert ours is not None
        ours.address = ACME_SUPPORT
        await session.commit()
    async with runtime.sessionmaker() as session:
        theirs = await session.get(t.Inbox, other_workspace.inboxes["email"])
        assert theirs is not None
        theirs.address = ACME_SUPPORT.upper()
        with pytest.raises(IntegrityError):
            await session.commit()
    async with runtime.sessionmaker() as session:
        # Other channels' addresses (a phone number on SMS and voice) may repeat.
        for channel in ("sms", "voice"):
            inbox = await session.get(t.Inbox, workspace.inboxes[channel])
            assert inbox is not None
            inbox.address = "+48223074000"
        await session.commit()


async def test_two_admins_taking_one_address_at_once_get_one_inbox_and_a_409(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    other_workspace: WorkspaceFixture,
    acme_allowed: None,
) -> None:
    # The other admin's inbox is written but not yet committed when this request checks.
    async with runtime.sessionmaker() as first:
        first.add(
            t.Inbox(
                workspace_id=workspace.id,
                name="Support (other admin)",
                channel="email",
                address=ACME_SUPPORT,
                settings={},
                secret="x" * 32,
                created_at=runtime.clock.now(),
            )
        )
        await first.flush()
        second = asyncio.create_task(new_email_inbox(client, workspace, ACME_SUPPORT))
        await asyncio.sleep(0.5)
        await first.commit()
    response = await second
    assert_problem(response, 409, ACME_SUPPORT, "Support (other admin)")
    async with runtime.sessionmaker() as session:
        holders = await session.execute(select(t.Inbox.id).where(t.Inbox.address == ACME_SUPPORT))
        assert len(holders.all()) == 1


async def test_mail_reaches_each_workspaces_inbox_by_its_address_and_reply_address(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    other_workspace: WorkspaceFixture,
    smtp: SmtpServerHandle,
    acme_support: None,
) -> None:
    await operator_allows(runtime, other_workspace, "globex.example.com")
    assert (await set_address(client, other_workspace, GLOBEX_SUPPORT)).status_code == 200
    async with runtime.sessionmaker() as session:
        acme_inbox = await session.get(t.Inbox, workspace.inboxes["email"])
        assert acme_inbox is not None and acme_inbox.secret
        token_address = reply_address(ACME_SUPPORT, 12345, acme_inbox.secret)

    await mail_to(smtp, "HELP@Globex.Example.com", "g1@customer.example")
    await mail_to(smtp, token_address.upper(), "a1@customer.example")
    stored = await inbox_ids_of_messages(runtime)
    assert stored["Mail g1@customer.example"] == other_workspace.inboxes["email"]
    assert stored["Mail a1@customer.example"] == workspace.inboxes["email"]

    async with aiosmtplib.SMTP(hostname=smtp.host, port=smtp.port, start_tls=False) as sender:
        await sender.ehlo()
        await sender.mail("jane@customer.example")
        with pytest.raises(aiosmtplib.SMTPRecipientRefused):
            await sender.rcpt("support@globex.example.com")


async def test_a_recipient_is_found_by_one_indexed_query(
    runtime: Runtime, workspace: WorkspaceFixture, smtp: SmtpServerHandle
) -> None:
    async with runtime.uow() as uow:
        await allow_email_domain(uow, workspace.id, "acme.example.com")
        inbox = await uow.session.get(t.Inbox, workspace.inboxes["email"])
        assert inbox is not None
        inbox.address = ACME_SUPPORT
        await uow.commit()
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    engine = runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        async with aiosmtplib.SMTP(hostname=smtp.host, port=smtp.port, start_tls=False) as c:
            await c.ehlo()
            await c.mail("jane@customer.example")
            await c.rcpt("support+anything@acme.example.com")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    lookups = [s for s in statements if "inboxes" in s[0]]
    assert len(lookups) == 1, statements
    statement, parameters = lookups[0]
    async with runtime.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # A handful of rows would be scanned anyway; ask whether the index can serve it.
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = await conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        else:
            plan = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        described = " ".join(str(part) for row in plan.all() for part in row)
    assert "uq_inboxes_email_address" in described, described


async def test_admins_see_their_workspaces_mail_domains(
    client: httpx.AsyncClient,
    runtime: Runtime,
    workspace: WorkspaceFixture,
    other_workspace: WorkspaceFixture,
    acme_allowed: None,
) -> None:
    await operator_allows(runtime, other_workspace, "globex.example.com")
    admin = await login(client, workspace.slug, "admin")
    listed = await client.get("/api/v1/email-domains", headers=admin)
    assert listed.status_code == 200
    assert [(d["domain"], d["allowed_by"]) for d in listed.json()] == [
        ("acme.example.com", "operator")
    ]
    agent = await login(client, workspace.slug, "agent")
    assert_problem(await client.get("/api/v1/email-domains", headers=agent), 403, "admin")
