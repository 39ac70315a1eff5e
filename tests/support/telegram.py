"""A real HTTP server on 127.0.0.1 speaking the Telegram Bot API for one bot.

It serves getFile and file downloads for the files it was given, accepts sendMessage,
answers from a script (429 with retry_after, 500, 403 ...) and records every request.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.local_http import QuietHandler, read_body, respond, respond_json, serving


@dataclass
class BotRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: dict[str, Any] | None


@dataclass
class Scripted:
    status: int
    body: dict[str, Any]


@dataclass
class FakeBotApi:
    token: str
    # file_id -> (file_path, content)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    requests: list[BotRequest] = field(default_factory=list)
    script: deque[Scripted] = field(default_factory=deque)
    base_url: str = ""
    next_message_id: int = 500
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer_next(self, *answers: Scripted) -> None:
        with self.lock:
            self.script.extend(answers)

    def sent_messages(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.body or {} for r in self.requests if r.path.endswith("/sendMessage")]

    def _answer(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        raw = read_body(handler)
        body = json.loads(raw) if raw else None
        with self.lock:
            self.requests.append(BotRequest(method, parts.path, parse_qs(parts.query), body))
        api_prefix, file_prefix = f"/bot{self.token}/", f"/file/bot{self.token}/"
        if parts.path.startswith(file_prefix):
            wanted = parts.path[len(file_prefix) :]
            for file_path, content in self.files.values():
                if file_path == wanted:
                    return respond(handler, 200, content, "application/octet-stream")
            return _refuse(handler, 404, "Not Found")
        if not parts.path.startswith(api_prefix):
            return _refuse(handler, 401, "Unauthorized")
        api_method = parts.path[len(api_prefix) :]
        with self.lock:
            scripted = self.script.popleft() if self.script else None
        if scripted is not None:
            return respond_json(handler, scripted.status, scripted.body)
        if api_method == "getFile":
            file_id = parse_qs(parts.query).get("file_id", [""])[0]
            if file_id not in self.files:
                return _refuse(handler, 400, "Bad Request: invalid file_id")
            file_path, content = self.files[file_id]
            result = {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id[-6:]}",
                "file_size": len(content),
                "file_path": file_path,
            }
            return respond_json(handler, 200, {"ok": True, "result": result})
        if api_method == "sendMessage" and body is not None:
            with self.lock:
                self.next_message_id += 1
                message_id = self.next_message_id
            result = {
                "message_id": message_id,
                "from": {"id": 999, "is_bot": True, "first_name": "Acme", "username": "acme_bot"},
                "chat": {"id": int(body["chat_id"]), "type": "private"},
                "date": 1700000000,
                "text": body.get("text"),
            }
            return respond_json(handler, 200, {"ok": True, "result": result})
        return _refuse(handler, 404, "Not Found")


def _refuse(handler: BaseHTTPRequestHandler, status: int, description: str) -> None:
    """The Bot API's error answer: the HTTP status repeated as error_code."""
    respond_json(handler, status, {"ok": False, "error_code": status, "description": description})


class _Handler(QuietHandler[FakeBotApi]):
    def do_GET(self) -> None:
        self.server.state._answer(self, "GET")

    def do_POST(self) -> None:
        self.server.state._answer(self, "POST")


@contextmanager
def running_bot_api(token: str) -> Iterator[FakeBotApi]:
    """A FakeBotApi listening on a free port of 127.0.0.1."""
    api = FakeBotApi(token=token)
    with serving(_Handler, api) as base_url:
        api.base_url = base_url
        yield api
