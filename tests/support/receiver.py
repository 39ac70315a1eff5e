"""A real HTTP server on 127.0.0.1 standing in for an app behind an API inbox.

It verifies each request's signature with our documented `verify_signature`, records
what it got, answers from a script (500 a few times, hang, 400, ...) and, like a careful
app, accepts each Idempotency-Key once.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from threadline.integrations.api.sender import verify_signature


@dataclass
class ReceivedRequest:
    key: str | None
    event: str | None
    signature_ok: bool
    body: dict[str, Any]
    answered: int | None = None


@dataclass
class Answer:
    status: int = 200
    body: str | None = None
    hang: bool = False
    delay: float = 0.0


@dataclass
class Receiver:
    secret: str = ""
    requests: list[ReceivedRequest] = field(default_factory=list)
    # Keys accepted (answered 2xx) in order; a repeat of a key is recorded but not re-applied.
    deliveries: list[str] = field(default_factory=list)
    script: deque[Answer] = field(default_factory=deque)
    default: Answer = field(default_factory=Answer)
    url: str = ""
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer_next(self, *answers: Answer) -> None:
        with self.lock:
            self.script.extend(answers)

    def keys(self) -> list[str | None]:
        with self.lock:
            return [r.key for r in self.requests]

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return
            time.sleep(0.02)
        raise AssertionError(f"receiver saw {len(self.requests)} requests, expected {count}")

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        signature_ok = verify_signature(
            self.secret,
            handler.headers.get("X-Threadline-Timestamp", ""),
            raw,
            handler.headers.get("X-Threadline-Signature", ""),
            tolerance=300,
        )
        key = handler.headers.get("Idempotency-Key")
        request = ReceivedRequest(
            key=key,
            event=handler.headers.get("X-Threadline-Event"),
            signature_ok=signature_ok,
            body=json.loads(raw or b"{}"),
        )
        with self.lock:
            self.requests.append(request)
            answer = self.script.popleft() if self.script else self.default
        if answer.hang:
            self.release.wait(60)
            return
        if answer.delay:
            time.sleep(answer.delay)
        status = answer.status if signature_ok else 401
        body = answer.body
        if 200 <= status < 300 and body is None:
            with self.lock:
                if key not in self.deliveries:
                    self.deliveries.append(key or "")
                body = json.dumps({"id": f"app-{key}"})
        request.answered = status
        payload = (body or "").encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        try:
            self.server.receiver._handle(self)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


class running_receiver:
    """Context manager: a Receiver listening on a free port of 127.0.0.1."""

    def __init__(self, secret: str = "") -> None:
        self.receiver = Receiver(secret=secret)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self.receiver
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server bound to a str address
        self.receiver.url = f"http://{host}:{port}/threadline/webhook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self.receiver

    def __exit__(self, *exc: object) -> None:
        self.receiver.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
