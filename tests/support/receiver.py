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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.local_http import (
    QuietHandler,
    ignoring_client_hang_ups,
    read_body,
    respond,
    serving,
)
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
        raw = read_body(handler)
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
        respond(handler, status, (body or "").encode(), "application/json")


class _Handler(QuietHandler[Receiver]):
    def do_POST(self) -> None:
        with ignoring_client_hang_ups():
            self.server.state._handle(self)


@contextmanager
def running_receiver(secret: str = "") -> Iterator[Receiver]:
    """A Receiver listening on a free port of 127.0.0.1."""
    receiver = Receiver(secret=secret)
    with serving(_Handler, receiver, on_stop=receiver.release.set) as base_url:
        receiver.url = f"{base_url}/threadline/webhook"
        yield receiver
