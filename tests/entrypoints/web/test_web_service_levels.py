"""The console's Service levels forms over HTTP: what an admin can get wrong is answered with
the reason (4xx) and what they typed, never a server error; other roles, other workspaces'
records and forged forms are refused."""

from __future__ import annotations

import html

import httpx
import pytest

from tests.conftest import WorkspaceFixture
from tests.support.web_sign_in import CSRF_INPUT, sign_in_with_the_form

pytestmark = pytest.mark.anyio

CALENDARS = "/app/admin/service-levels/calendars"
POLICIES = "/app/admin/service-levels/policies"


async def _admin_token(client: httpx.AsyncClient, ws: WorkspaceFixture, who: str = "admin") -> str:
    lands_on = "/app/admin" if who == "admin" else "/app/conversations"
    await sign_in_with_the_form(client, f"{who}@{ws.slug}.example.com", ws.slug, lands_on)
    page = await client.get(f"{CALENDARS}/new")
    token = CSRF_INPUT.search(page.text)
    return token.group(1) if token else ""


def _calendar(**fields: str) -> dict[str, str]:
    return {"name": "Office", "timezone": "Europe/Warsaw", "d0-0-from": "08:00", **fields}


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"d0-0-to": ""}, "needs both its start and its end"),
        ({"d0-0-to": "25:00"}, "a time is HH:MM"),
        ({"d0-0-to": "16:00", "timezone": "Mars/Olympus"}, "Mars/Olympus"),
        ({"d0-0-to": "16:00", "holiday_country": "XX"}, "no public holidays are known"),
        ({"d0-0-to": "16:00", "custom_holidays": "31.12.2026"}, "YYYY-MM-DD"),
        ({"d0-0-to": "16:00", "name": "  "}, "needs a name"),
    ],
)
async def test_a_calendar_the_clocks_could_not_use_is_refused_with_the_reason(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, fields: dict[str, str], reason: str
) -> None:
    token = await _admin_token(client, workspace)
    answer = await client.post(
        f"{CALENDARS}/new", data={**_calendar(**fields), "csrf_token": token}
    )
    assert answer.status_code == 422, answer.text
    assert reason in html.unescape(answer.text)
    assert 'value="Europe/Warsaw"' in answer.text or "Mars/Olympus" in answer.text


async def test_a_saved_calendar_shows_its_two_weeks_and_a_typo_in_minutes_is_named(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    token = await _admin_token(client, workspace)
    saved = await client.post(
        f"{CALENDARS}/new", data={**_calendar(**{"d0-0-to": "16:00"}), "csrf_token": token}
    )
    assert saved.status_code == 303, saved.text
    page = await client.get(saved.headers["location"])
    assert page.status_code == 200 and page.text.count('data-testid="preview-day"') == 14
    typo = await client.post(
        f"{POLICIES}/new",
        data={"name": "Email", "first_response_minutes": "an hour", "csrf_token": token},
    )
    assert typo.status_code == 422 and "a whole number" in html.unescape(typo.text)


async def test_other_roles_other_workspaces_and_forged_forms_are_refused(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    other_workspace: WorkspaceFixture,
) -> None:
    token = await _admin_token(client, workspace)
    saved = await client.post(
        f"{CALENDARS}/new", data={**_calendar(**{"d0-0-to": "16:00"}), "csrf_token": token}
    )
    ours = saved.headers["location"].split("?")[0]
    forged = await client.post(ours, data=_calendar(**{"d0-0-to": "17:00"}))
    assert forged.status_code == 403
    await _admin_token(browser, workspace, "agent")
    assert (await browser.get(ours)).status_code == 403
    assert (await browser.get("/app/admin/service-levels")).status_code == 403
    other_token = await _admin_token(browser, other_workspace)
    assert (await browser.get(ours)).status_code == 404
    moved = await browser.post(
        ours, data={**_calendar(**{"d0-0-to": "17:00"}), "csrf_token": other_token}
    )
    assert moved.status_code == 404
    assert (await client.get(f"{CALENDARS}/x1")).status_code == 404


@pytest.mark.parametrize("typed", ["-1", "abc", "20000"])
async def test_a_callback_time_out_of_range_is_refused_with_the_reason(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, typed: str
) -> None:
    token = await _admin_token(client, workspace)
    answer = await client.post(
        f"/app/admin/service-levels/callbacks/{workspace.inboxes['voice']}",
        data={"callback_due_minutes": typed, "csrf_token": token},
    )
    assert answer.status_code == 422, answer.text
    assert "callback_due_minutes" in html.unescape(answer.text)
