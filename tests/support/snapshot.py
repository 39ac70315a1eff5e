"""What the outside world sees of Threadline, as text to compare: the OpenAPI document and
the events a seeded demo workspace publishes (as the events API hands them out).

The restructuring of issue 14 moves almost every module; these snapshots, taken before it
began, prove the moves changed nothing a client or a subscriber can see. To take them again
after a deliberate change to the API or an event: `.venv/bin/python -m tests.support.snapshot`,
then review the diff and commit it with the change.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from threadline.adapters.clock import ManualClock
from threadline.adapters.db.migrate import upgrade_to_head
from threadline.bootstrap import build_runtime
from threadline.config import Settings
from threadline.entrypoints.api.app import create_app
from threadline.entrypoints.logging_setup import configure_logging
from threadline.seed import DEMO_SLUG, SeedSize, seed_demo

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots"
OPENAPI_SNAPSHOT = SNAPSHOTS / "openapi.json"
EVENTS_SNAPSHOT = SNAPSHOTS / "demo_events.jsonl"
RESPONSES_SNAPSHOT = SNAPSHOTS / "scenario_responses.jsonl"
# A small demo, seeded at a fixed moment from a fixed seed: the same rows, ids and events
# every time on a fresh SQLite database.
SNAPSHOT_SIZE = SeedSize(customers=12, conversations=30)
SNAPSHOT_NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ADMIN = "admin@demo.example.com"
# After the seed, an admin works the demo through the API at this (fixed) moment, so that
# the events the seed never writes (notes, mentions, tasks, merges, offers, agents, routing)
# are in the snapshot too, with the answers the API gave.
SCENARIO_AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
SCENARIO: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/auth/me", None),
    ("GET", "/api/v1/agents", None),
    ("GET", "/api/v1/inboxes", None),
    ("GET", "/api/v1/conversations?limit=5", None),
    ("GET", "/api/v1/conversations/3", None),
    ("GET", "/api/v1/conversations/3/messages", None),
    ("GET", "/api/v1/conversations/3/reply-options", None),
    ("GET", "/api/v1/conversations/3/sla", None),
    ("GET", "/api/v1/customers/3", None),
    ("GET", "/api/v1/customers/3/timeline", None),
    ("PATCH", "/api/v1/customers/3", {"name": "Renamed Customer", "labels": ["vip"]}),
    ("POST", "/api/v1/conversations/3/notes", {"text": "@kasia could you take this one?"}),
    ("POST", "/api/v1/customers/3/notes", {"text": "Prefers a call after 5 pm."}),
    ("POST", "/api/v1/conversations/3/priority", {"priority": "high"}),
    ("PUT", "/api/v1/conversations/3/labels", {"labels": ["refund", "kettle"]}),
    ("POST", "/api/v1/conversations/3/assign", {"assignee_id": 2}),
    ("POST", "/api/v1/conversations/3/replies", {"text": "Thank you, we are on it."}),
    (
        "POST",
        "/api/v1/tasks",
        {
            "conversation_id": 3,
            "title": "Call the customer back",
            "assignee_id": 2,
            "due_at": "2026-12-02T09:00:00+00:00",
        },
    ),
    ("PATCH", "/api/v1/tasks/{created}", {"status": "done"}),
    (
        "POST",
        "/api/v1/customers/3/offers",
        {"product": "Kettle lid", "price": "9.99", "currency": "EUR", "conversation_id": 3},
    ),
    ("PATCH", "/api/v1/offers/{created}", {"status": "accepted"}),
    (
        "POST",
        "/api/v1/conversations/3/wrap-up",
        {"code": "information_given", "summary": "Lid sent"},
    ),
    ("POST", "/api/v1/conversations/3/status", {"status": "resolved"}),
    ("POST", "/api/v1/conversations/3/status", {"status": "open"}),
    ("POST", "/api/v1/customers/4/merge", {"source_customer_id": 5}),
    ("GET", "/api/v1/merges", None),
    ("POST", "/api/v1/merges/1/undo", None),
    ("PATCH", "/api/v1/agents/2", {"languages": ["pl", "en"]}),
    ("PUT", "/api/v1/routing/settings", {"mode": "auto", "weights": {}}),
    ("POST", "/api/v1/conversations/6/route", None),
    ("GET", "/api/v1/routing/offers", None),
    ("GET", "/api/v1/csat", None),
    ("GET", "/api/v1/notifications", None),
    ("GET", "/api/v1/tasks", None),
]
DEMO_PASSWORD = "demo-password"


def _settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key="snapshot-secret-key-0123456789-abcdef")


def openapi_text() -> str:
    document = create_app(_settings("sqlite+aiosqlite:///:memory:")).openapi()
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


async def demo_texts(directory: Path) -> tuple[str, str]:
    """The scenario's answers (method, path, status, body a line) and then every event of
    the workspace, one JSON envelope a line, in seq order."""
    url = f"sqlite+aiosqlite:///{directory / 'snapshot.db'}"
    upgrade_to_head(url)
    runtime = build_runtime(_settings(url), clock=ManualClock(SCENARIO_AT))
    try:
        await seed_demo(runtime.sessionmaker, size=SNAPSHOT_SIZE, now=SNAPSHOT_NOW)
        app = create_app(runtime=runtime)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://snapshot") as client:
            headers = await _sign_in(client)
            answers = []
            created: object = None
            for method, path, body in SCENARIO:
                answer = await _answer(client, headers, method, path.format(created=created), body)
                created = _created_id(answer) or created
                answers.append(answer)
            envelopes = await _all_events(client, headers)
    finally:
        await runtime.close()
    return _lines(answers), _lines(envelopes)


# Values made by a random generator on purpose (public keys), not by the code under test.
RANDOM_VALUES = {"widget_public_key"}


def _lines(items: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(_masked(i), sort_keys=True, ensure_ascii=False) + "\n" for i in items)


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<random>" if k in RANDOM_VALUES else _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


async def _sign_in(client: httpx.AsyncClient) -> dict[str, str]:
    signed_in = await client.post(
        "/api/v1/auth/login",
        json={"workspace": DEMO_SLUG, "email": ADMIN, "password": DEMO_PASSWORD},
    )
    signed_in.raise_for_status()
    return {"Authorization": f"Bearer {signed_in.json()['access_token']}"}


async def _answer(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> dict[str, Any]:
    response = await client.request(method, path, json=body, headers=headers)
    # The request id is new on every request; everything else must stay as it was.
    return {"request": f"{method} {path}", "status": response.status_code, "body": response.json()}


def _created_id(answer: dict[str, Any]) -> object:
    """The id of what a 201 made, for the step after it ("{created}" in its path)."""
    body = answer["body"]
    if answer["status"] != 201 or not isinstance(body, dict):
        return None
    return body.get("id")


async def _all_events(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    envelopes: list[dict[str, Any]] = []
    since = 0
    while True:
        page = await client.get(
            "/api/v1/events", params={"since": since, "limit": 1000}, headers=headers
        )
        page.raise_for_status()
        body = page.json()
        envelopes.extend(body["events"])
        if not body["has_more"]:
            return envelopes
        since = body["seq"]


def main() -> None:
    configure_logging(Settings(log_level="WARNING"))
    SNAPSHOTS.mkdir(exist_ok=True)
    OPENAPI_SNAPSHOT.write_text(openapi_text(), encoding="utf-8")
    with tempfile.TemporaryDirectory() as directory:
        answers, events = asyncio.run(demo_texts(Path(directory)))
    RESPONSES_SNAPSHOT.write_text(answers, encoding="utf-8")
    EVENTS_SNAPSHOT.write_text(events, encoding="utf-8")
    print(f"wrote the snapshots in {SNAPSHOTS}: {events.count(chr(10))} events")


if __name__ == "__main__":
    main()
