"""The console's audit page and its CSV download, as a browser without JavaScript sees them:
admins only, web sign-ins recorded, filtered by who, a wrong date refused with its reason."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import WorkspaceFixture
from tests.support.web_sign_in import sign_in_with_the_form

pytestmark = pytest.mark.anyio


async def test_the_audit_page_is_for_admins_and_refuses_a_wrong_date(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    await sign_in_with_the_form(client, f"super@{workspace.slug}.example.com", workspace.slug)
    assert (await client.get("/app/admin/audit")).status_code == 403
    assert (await client.get("/app/admin/audit/export.csv")).status_code == 403

    admin = f"admin@{workspace.slug}.example.com"
    await sign_in_with_the_form(browser, admin, workspace.slug, landing="/app/admin")
    page = await browser.get("/app/admin/audit")
    assert page.status_code == 200
    # Both web sign-ins are there, the admin's named (the supervisor's too).
    assert page.text.count('data-action="sign_in.succeeded"') == 2
    assert "Ada Admin" in page.text and "Sue Supervisor" in page.text
    wrong = await browser.get("/app/admin/audit", params={"from": "yesterday"})
    assert wrong.status_code == 422
    assert "is not a date" in wrong.text
    narrowed = await browser.get("/app/admin/audit", params={"actor": "sue"})
    assert narrowed.text.count('data-action="sign_in.succeeded"') == 1
    export = await browser.get("/app/admin/audit/export.csv", params={"actor": "ada"})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    _header, *lines = export.text.strip().splitlines()
    # The newest first: the export itself (a fact of the log), then Ada's sign-in.
    assert [line.split(",")[5] for line in lines] == ["audit_log.exported", "sign_in.succeeded"]
    assert all(",Ada Admin," in line for line in lines)
