"""Twilio's side in tests: a real HTTP server on 127.0.0.1 speaking Twilio's REST format,
and helpers that sign webhook requests the way Twilio does.

The server answers POST /2010-04-01/Accounts/{sid}/Messages.json with Twilio's message
resource (201) or a scripted error, and serves MMS media files at Twilio's media paths,
checking HTTP basic auth (AccountSid:AuthToken) on everything, as Twilio does.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx
from sqlalchemy import update

from threadline.adapters.db import tables as t
from threadline.adapters.twilio.signature import compute_signature
from threadline.bootstrap import Runtime

FIXTURES = Path(__file__).parent / "fixtures" / "twilio"
ACCOUNT_SID = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
AUTH_TOKEN = "twilio-auth-token-for-tests-0123456789"
OUR_NUMBER = "+15017122661"
CUSTOMER_NUMBER = "+14155552671"
BASE_URL = "http://threadline.test"


def fixture_pairs(name: str, **placeholders: str) -> list[tuple[str, str]]:
    """A form-encoded fixture as Twilio would post it, placeholders filled in."""
    text = (FIXTURES / name).read_text().strip()
    for key, value in placeholders.items():
        text = text.replace("{" + key + "}", quote(value, safe=""))
    return parse_qsl(text, keep_blank_values=True)


def fixture_json(name: str, **placeholders: str) -> dict[str, Any]:
    text = (FIXTURES / name).read_text()
    for key, value in placeholders.items():
        text = text.replace("{" + key + "}", value)
    data: dict[str, Any] = json.loads(text)
    return data


async def post_signed(
    client: httpx.AsyncClient,
    path: str,
    pairs: list[tuple[str, str]],
    *,
    token: str = AUTH_TOKEN,
    signature: str | None = None,
) -> httpx.Response:
    """POST the form as Twilio does: X-Twilio-Signature over the full URL + sorted params."""
    url = BASE_URL + path
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    headers["X-Twilio-Signature"] = (
        signature if signature is not None else compute_signature(token, url, pairs)
    )
    return await client.post(path, content=urlencode(pairs), headers=headers)


async def configure_twilio_inbox(runtime: Runtime, inbox_id: int, **settings: Any) -> None:
    values = {"account_sid": ACCOUNT_SID, "from_number": OUR_NUMBER, **settings}
    async with runtime.sessionmaker() as session:
        await session.execute(
            update(t.Inbox).where(t.Inbox.id == inbox_id).values(secret=AUTH_TOKEN, settings=values)
        )
        await session.commit()


@dataclass
class TwilioRequestSeen:
    method: str
    path: str
    form: dict[str, str]
    authorized: bool


@dataclass
class FakeTwilio:
    url: str = ""
    requests: list[TwilioRequestSeen] = field(default_factory=list)
    # (status, json body) answers for the Messages API; a 201 resource when empty.
    script: deque[tuple[int, dict[str, Any]]] = field(default_factory=deque)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0

    def answer_next(self, *answers: tuple[int, dict[str, Any]]) -> None:
        with self.lock:
            self.script.extend(answers)

    def messages_posted(self) -> list[TwilioRequestSeen]:
        with self.lock:
            return [r for r in self.requests if r.path.endswith("/Messages.json")]

    def _authorized(self, handler: BaseHTTPRequestHandler) -> bool:
        expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        return handler.headers.get("Authorization") == f"Basic {expected}"

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode()
        authorized = self._authorized(handler)
        seen = TwilioRequestSeen(method, handler.path, dict(parse_qsl(raw)), authorized)
        with self.lock:
            self.requests.append(seen)
        if not authorized:
            return self._reply(handler, 401, fixture_json("rest_error_20003.json"))
        if method == "GET" and handler.path in self.media:
            data, content_type = self.media[handler.path]
            handler.send_response(200)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
            return None
        if method == "POST" and handler.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
            with self.lock:
                answer = self.script.popleft() if self.script else None
                if answer is None:
                    self.sent += 1
                    sid = f"SM{self.sent:032x}"
                    answer = (201, fixture_json("rest_message_created.json", SID=sid, BODY=""))
                    answer[1]["body"] = seen.form.get("Body", "")
            return self._reply(handler, *answer)
        return self._reply(handler, 404, {"code": 20404, "message": "not found", "status": 404})

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeTwilio


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self.server.fake.handle(self, "POST")

    def do_GET(self) -> None:
        self.server.fake.handle(self, "GET")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class running_fake_twilio:
    def __init__(self) -> None:
        self.fake = FakeTwilio()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self.fake
        port = self._server.server_address[1]
        self.fake.url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeTwilio:
        self._thread.start()
        return self.fake

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
