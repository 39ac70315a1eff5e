"""A request id on every request and in every log line written for it; JSON logs that a log
collector can read line by line (THREADLINE_LOG_FORMAT=json); one access line per request
with the route template, never a token from the path or the query."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from tests.conftest import WorkspaceFixture
from tests.support.processes import stop

pytestmark = pytest.mark.anyio

GENERATED_ID = re.compile(r"[0-9a-f]{32}")
HOSTILE_IDS = [
    "abc\ndef",
    "line\r\nX-Injected: yes",
    "x" * 10_000,
    'quote"and space',
    "",
]


def inbound_sms(ws: WorkspaceFixture, text: str) -> dict[str, Any]:
    return {
        "inbox_id": ws.inboxes["sms"],
        "channel": "sms",
        "sender": {"kind": "phone", "value": "+48600100400"},
        "text": text,
    }


async def test_every_response_carries_a_request_id_of_its_own(client: httpx.AsyncClient) -> None:
    first = (await client.get("/healthz")).headers["x-request-id"]
    second = (await client.get("/no/such/page")).headers["x-request-id"]
    assert GENERATED_ID.fullmatch(first) and GENERATED_ID.fullmatch(second)
    assert first != second


async def test_a_sane_incoming_request_id_is_kept(client: httpx.AsyncClient) -> None:
    for sane in ("0b7d3f6e-96c5-4be1-8a8e-3c2f6a1d9e00", "Root=1-65f2a1b3:edge.7/Zm9v+"):
        response = await client.get("/healthz", headers={"X-Request-ID": sane})
        assert response.headers["x-request-id"] == sane


@pytest.mark.parametrize("hostile", HOSTILE_IDS, ids=["lf", "crlf", "10kB", "quote", "empty"])
async def test_a_hostile_request_id_is_replaced(client: httpx.AsyncClient, hostile: str) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": hostile})
    assert response.status_code == 200
    assert GENERATED_ID.fullmatch(response.headers["x-request-id"])


async def test_bytes_that_are_not_text_are_replaced_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={b"X-Request-ID": b"\xff\xfe\x00"})
    assert GENERATED_ID.fullmatch(response.headers["x-request-id"])


@pytest.fixture
def debug_lines() -> Iterator[None]:
    """Our debug lines are let through, whatever level an earlier test of this process
    configured (the CLI's tests configure INFO)."""
    before = structlog.get_config()["wrapper_class"]
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    yield
    structlog.configure(wrapper_class=before)


async def test_the_use_case_and_the_problem_lines_carry_the_request_id(
    client: httpx.AsyncClient, workspace: WorkspaceFixture, debug_lines: None
) -> None:
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as lines:
        stored = await client.post(
            "/api/v1/inbound/messages",
            json=inbound_sms(workspace, "Where is my parcel?"),
            headers={"X-API-Key": workspace.api_key, "X-Request-ID": "req-stored-1"},
        )
        refused = await client.post(
            "/api/v1/inbound/messages",
            json={"inbox_id": workspace.inboxes["sms"]},
            headers={"X-API-Key": workspace.api_key, "X-Request-ID": "req-refused-2"},
        )
    assert (stored.status_code, refused.status_code) == (201, 422)
    by_id: dict[str, list[str]] = {}
    for line in lines:
        by_id.setdefault(line.get("request_id", "-"), []).append(line["event"])
    assert by_id["req-stored-1"] == ["message.received", "http.request"]
    assert by_id["req-refused-2"] == ["http.problem", "http.request"]
    received = next(line for line in lines if line["event"] == "message.received")
    assert received["channel"] == "sms" and received["workspace_id"] == workspace.id
    access = [line for line in lines if line["event"] == "http.request"]
    assert [(a["route"], a["status"], a["method"]) for a in access] == [
        ("/api/v1/inbound/messages", 201, "POST"),
        ("/api/v1/inbound/messages", 422, "POST"),
    ]
    assert all(isinstance(a["duration_ms"], float) for a in access)


# --- the real process: `threadline serve` with THREADLINE_LOG_FORMAT=json ------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def serving(database_url: str, log: Path) -> Iterator[str]:
    """`threadline serve` with JSON logs to `log` (its standard error); yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "THREADLINE_DATABASE_URL": database_url,
        "THREADLINE_REDIS_URL": "",
        "THREADLINE_RUN_OUTBOUND_WORKER": "false",
        "THREADLINE_LOG_FORMAT": "json",
        "THREADLINE_LOG_LEVEL": "DEBUG",  # the use-case's message.received is DEBUG
    }
    command = [str(Path(sys.executable).with_name("threadline")), "serve", "--port", str(port)]
    with log.open("wb") as errors:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(process)


async def wait_until_up(http: httpx.AsyncClient, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"the server did not start:\n{text_of(log)}")


def text_of(path: Path) -> str:
    return path.read_text()


def send_garbage(base_url: str) -> None:
    """Bytes that are not HTTP: uvicorn itself logs a warning about them."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
        try:
            raw.recv(1024)
        except TimeoutError:
            pass


async def test_json_logs_one_object_a_line_sharing_each_requests_id(
    database_url: str, workspace: WorkspaceFixture, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    ten_kilobytes = "r" * 10_000
    with serving(database_url, log) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            await wait_until_up(http, log)
            stored = await http.post(
                "/api/v1/inbound/messages",
                headers={"X-API-Key": workspace.api_key, "X-Request-ID": "trace-stored-1"},
                json=inbound_sms(workspace, "Is my order on its way?"),
            )
            refused = await http.post(
                "/api/v1/inbound/messages",
                headers={"X-API-Key": workspace.api_key, "X-Request-ID": "trace-refused-2"},
                json={"inbox_id": "not a number"},
            )
            hostile = await http.get("/healthz", headers={"X-Request-ID": ten_kilobytes})
            survey = await http.get("/csat/survey-token-that-must-not-be-logged?secret=q1")
            send_garbage(base_url)
            await asyncio.sleep(0.3)  # the server writes its warning about the garbage
    assert stored.status_code == 201, stored.text
    assert stored.headers["x-request-id"] == "trace-stored-1"
    assert refused.status_code == 422
    assert refused.headers["x-request-id"] == "trace-refused-2"
    replaced = hostile.headers["x-request-id"]
    assert GENERATED_ID.fullmatch(replaced)
    assert 400 <= survey.status_code < 500

    raw = text_of(log)
    lines: list[dict[str, Any]] = []
    for number, line in enumerate(raw.splitlines(), 1):
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"line {number} is not JSON: {line!r}\n{raw}") from None
    assert lines, "the server logged nothing"
    assert all({"event", "level", "timestamp"} <= line.keys() for line in lines), lines

    def events(request_id: str) -> list[tuple[str, Any]]:
        return [(x["event"], x.get("status")) for x in lines if x.get("request_id") == request_id]

    assert events("trace-stored-1") == [("message.received", None), ("http.request", 201)]
    assert events("trace-refused-2") == [("http.problem", 422), ("http.request", 422)]
    assert events(replaced) == [("http.request", 200)]
    access = [x for x in lines if x["event"] == "http.request"]
    assert {x["route"] for x in access} >= {"/api/v1/inbound/messages", "/csat/{token}"}
    # Secrets stay out: the API key, the token in the path, the query string, the hostile id.
    for secret in (workspace.api_key, "survey-token-that", "secret=q1", ten_kilobytes[:200]):
        assert secret not in raw
    # Lines of other libraries come out as JSON too, through the same handler.
    assert any(x.get("logger", "").startswith("uvicorn") for x in lines), raw
    assert any(x["event"] == "auth.insecure_fast_password_hashing" for x in lines), raw
