"""GET /api/v1/audit and /api/v1/audit.csv: admins only, filtered, newest first, paged."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import httpx
import pytest

from tests.conftest import WorkspaceFixture, login
from threadline.adapters.clock import ManualClock

pytestmark = pytest.mark.anyio


async def _rename_team(client: httpx.AsyncClient, admin: dict[str, str], names: list[str]) -> int:
    team = await client.post("/api/v1/teams", headers=admin, json={"name": names[0]})
    assert team.status_code == 201, team.text
    for name in names[1:]:
        renamed = await client.patch(
            f"/api/v1/teams/{team.json()['id']}", headers=admin, json={"name": name}
        )
        assert renamed.status_code == 200, renamed.text
    team_id: int = team.json()["id"]
    return team_id


async def test_admins_filter_and_page_the_log_newest_first(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, clock: ManualClock
) -> None:
    admin = await login(client, workspace.slug, "admin")
    started = clock.now()
    clock.advance(timedelta(minutes=5))
    team_id = await _rename_team(client, admin, ["Kettles", "Toasters", "Small appliances"])
    query: dict[str, str | int] = {"action": "team.", "object_id": str(team_id), "limit": 2}
    first = await client.get("/api/v1/audit", headers=admin, params=query)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [e["action"] for e in page["items"]] == ["team.updated", "team.updated"]
    assert page["items"][0]["after"] == {"name": "Small appliances"}
    assert page["items"][0]["before"] == {"name": "Toasters"}
    assert page["items"][0]["actor"] == {
        "kind": "agent",
        "id": workspace.admin_id,
        "name": "Ada Admin",
    }
    rest = await client.get(
        "/api/v1/audit", headers=admin, params={**query, "cursor": page["next_cursor"]}
    )
    assert [e["action"] for e in rest.json()["items"]] == ["team.created"]
    assert rest.json()["next_cursor"] is None

    by_text = await client.get("/api/v1/audit", headers=admin, params={"q": "sign_in"})
    assert [e["action"] for e in by_text.json()["items"]] == ["sign_in.succeeded"]
    later = {"from": (started + timedelta(minutes=1)).isoformat()}
    after_sign_in = await client.get("/api/v1/audit", headers=admin, params=later)
    assert {e["object"]["type"] for e in after_sign_in.json()["items"]} == {"team"}
    nobody = await client.get("/api/v1/audit", headers=admin, params={"actor": "olek"})
    assert nobody.json()["items"] == []


async def test_only_admins_read_the_log_and_bad_cursors_are_refused(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    supervisor = await login(client, workspace.slug, "super")
    assert (await client.get("/api/v1/audit", headers=supervisor)).status_code == 403
    assert (await client.get("/api/v1/audit.csv", headers=supervisor)).status_code == 403
    keyed = await client.get("/api/v1/audit", headers={"X-API-Key": workspace.api_key})
    assert keyed.status_code == 403
    admin = await login(client, workspace.slug, "admin")
    bad = await client.get("/api/v1/audit", headers=admin, params={"cursor": "yesterday"})
    assert bad.status_code == 422, bad.text
    assert "cursor" in bad.json()["detail"]


async def test_the_csv_export_holds_the_filtered_entries_as_text(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, other_workspace: WorkspaceFixture
) -> None:
    admin = await login(client, workspace.slug, "admin")
    await login(client, other_workspace.slug, "admin")
    await _rename_team(client, admin, ["=HYPERLINK(1)", "Kettles"])
    export = await client.get("/api/v1/audit.csv", headers=admin, params={"action": "team."})
    assert export.status_code == 200, export.text
    assert export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["action"] for r in rows] == ["team.updated", "team.created"]
    assert json.loads(rows[0]["after"]) == {"name": "Kettles"}
    assert rows[0]["actor_name"] == "Ada Admin"
    tried = await client.post(
        "/api/v1/auth/login",
        json={"workspace": workspace.slug, "email": "=1+1@evil.example", "password": "x"},
    )
    assert tried.status_code == 401
    everything = await client.get("/api/v1/audit.csv", headers=admin)
    failed = next(
        r for r in csv.DictReader(io.StringIO(everything.text)) if r["action"] == "sign_in.failed"
    )
    # A spreadsheet shows it as text, never runs it as a formula.
    assert failed["actor_name"] == "'=1+1@evil.example"
    # The other workspace's sign-in is not this workspace's fact.
    assert everything.text.count("sign_in.succeeded") == 1
    # Each export is a fact of the log too, with what it asked for.
    exports = await client.get("/api/v1/audit", headers=admin, params={"action": "audit_log."})
    asked = [e["after"] for e in exports.json()["items"]]
    assert asked == [{}, {"action": "team."}]
