"""A real HTTP server on 127.0.0.1 speaking the Telegram Bot API for one bot.

It serves getFile and file downloads for the files it was given, accepts sendMessage,
answers from a script (429 with retry_after, 500, 403 ...) and records every request.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


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
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        with self.lock:
            self.requests.append(BotRequest(method, parts.path, parse_qs(parts.query), body))
        api_prefix, file_prefix = f"/bot{self.token}/", f"/file/bot{self.token}/"
        if parts.path.startswith(file_prefix):
            wanted = parts.path[len(file_prefix) :]
            for file_path, content in self.files.values():
                if file_path == wanted:
                    return _send(handler, 200, content, "application/octet-stream")
            return _json(handler, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
        if not parts.path.startswith(api_prefix):
            return _json(
                handler, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
        api_method = parts.path[len(api_prefix) :]
        with self.lock:
            scripted = self.script.popleft() if self.script else None
        if scripted is not None:
            return _json(handler, scripted.status, scripted.body)
        if api_method == "getFile":
            file_id = parse_qs(parts.query).get("file_id", [""])[0]
            if file_id not in self.files:
                return _json(
                    handler,
                    400,
                    {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"},
                )
            file_path, content = self.files[file_id]
            result = {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id[-6:]}",
                "file_size": len(content),
                "file_path": file_path,
            }
            return _json(handler, 200, {"ok": True, "result": result})
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
            return _json(handler, 200, {"ok": True, "result": result})
        return _json(handler, 404, {"ok": False, "error_code": 404, "description": "Not Found"})


def _json(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    _send(handler, status, json.dumps(body).encode(), "application/json")


def _send(handler: BaseHTTPRequestHandler, status: int, payload: bytes, content_type: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: FakeBotApi


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.api._answer(self, "GET")

    def do_POST(self) -> None:
        self.server.api._answer(self, "POST")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class running_bot_api:
    """Context manager: a FakeBotApi listening on a free port of 127.0.0.1."""

    def __init__(self, token: str) -> None:
        self.api = FakeBotApi(token=token)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = self.api
        port = self._server.server_address[1]
        self.api.base_url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeBotApi:
        self._thread.start()
        return self.api

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
