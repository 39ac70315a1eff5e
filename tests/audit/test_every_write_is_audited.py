"""Every write operation of the API an admin can call leaves an audit entry naming the admin.

The walk goes through the app's own OpenAPI document, not a list of routes: an operation
added tomorrow has no example in write_examples.py and fails here until it gets one (and,
if its change is not audited yet, until it is). Left out, each with its reason, are only
the operations that are not an admin's to call.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from tests.audit.admin_at_work import Admin
from tests.audit.write_examples import EXAMPLES
from tests.conftest import WorkspaceFixture, login
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.entrypoints.api.app import create_app

pytestmark = pytest.mark.anyio

WRITE_METHODS = ("post", "put", "patch", "delete")
WIDGET = "the website visitor's chat widget calls it, with the visitor's session, not an admin"
NOT_AN_ADMINS = {
    "POST /api/v1/inbound/messages": "an app posts a customer's message (API keys only): "
    "customer traffic, not anyone's change",
    "POST /api/v1/inbound/status": "an app reports a delivery (API keys only)",
    "POST /api/v1/widget/session": WIDGET,
    "POST /api/v1/widget/messages": WIDGET,
    "POST /api/v1/widget/email": WIDGET,
    "POST /api/v1/widget/attachments": WIDGET,
    "POST /api/v1/conversations/{conversation_id}/canned-responses/{canned_response_id}/render": (
        "a read: fills a canned response's variables in, changes nothing"
    ),
}


def write_operations() -> list[str]:
    document = create_app().openapi()
    return [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
        if method in WRITE_METHODS
    ]


def test_every_write_operation_has_an_example_or_a_reason() -> None:
    operations = write_operations()
    missing = [op for op in operations if op not in EXAMPLES and op not in NOT_AN_ADMINS]
    assert missing == [], "add a valid call to tests/audit/write_examples.py for each"
    stale = sorted((set(EXAMPLES) | set(NOT_AN_ADMINS)) - set(operations))
    assert stale == [], "these operations are gone: take them out of the tables"


async def _last_entry_id(runtime: Runtime) -> int:
    async with runtime.sessionmaker() as session:
        found = (await session.execute(select(func.max(t.AuditEntry.id)))).scalar()
        return int(found or 0)


async def _actions_since(runtime: Runtime, after: int, admin_id: int) -> list[str]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(t.AuditEntry.action).where(
                t.AuditEntry.id > after,
                t.AuditEntry.actor_kind == "agent",
                t.AuditEntry.actor_id == admin_id,
            )
        )
        return list(rows.scalars())


async def test_every_write_an_admin_makes_is_an_audit_entry_of_theirs(
    client: httpx.AsyncClient, runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    admin = Admin(client, runtime, workspace, await login(client, workspace.slug, "admin"))
    unaudited: dict[str, list[str]] = {}
    for operation in write_operations():
        if operation in NOT_AN_ADMINS:
            continue
        expected, example = EXAMPLES[operation]
        url, body = await example(admin)
        headers, admin.next_call_headers = admin.next_call_headers or admin.headers, None
        before = await _last_entry_id(runtime)
        method = operation.split()[0]
        response = await client.request(method, url, json=body, headers=headers)
        assert response.status_code < 300, f"{operation} ({url}): {response.text}"
        actions = await _actions_since(runtime, before, workspace.admin_id)
        if not any(action.startswith(expected) for action in actions):
            unaudited[operation] = actions
    assert unaudited == {}, f"no entry of the expected action (found these): {unaudited}"
