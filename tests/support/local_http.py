"""The plumbing every local HTTP stand-in for a provider shares.

A stand-in is a state object (what it was sent, what it is scripted to answer) and a
handler class whose do_GET/do_POST hand the request to that state; `serving` runs the
handler on a free port of 127.0.0.1 in a daemon thread for as long as a test needs it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, TypeVar

StateT = TypeVar("StateT")


class StateServer(ThreadingHTTPServer, Generic[StateT]):
    """A threading HTTP server that carries the stand-in's state for its handlers."""

    # A request left hanging (a timeout a test causes) must not keep the process alive.
    daemon_threads = True

    def __init__(self, host: str, handler_class: type[QuietHandler[StateT]], state: StateT):
        super().__init__((host, 0), handler_class)
        self.state = state

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server bound to a str address
        return f"http://{host}:{port}"


class QuietHandler(BaseHTTPRequestHandler, Generic[StateT]):
    """A request handler that reaches the stand-in's state as `self.server.state`."""

    server: StateServer[StateT]

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would bury the test's own output


def respond(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def respond_json(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    respond(handler, status, json.dumps(body).encode(), "application/json")


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request's body as its Content-Length announces it (empty without one)."""
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def ignoring_client_hang_ups() -> suppress:
    """For answers a test makes the client give up on (a timeout, a dropped connection)."""
    return suppress(BrokenPipeError, ConnectionResetError)


@contextmanager
def serving(
    handler_class: type[QuietHandler[StateT]],
    state: StateT,
    *,
    on_stop: Callable[[], None] | None = None,
    host: str = "127.0.0.1",
) -> Iterator[str]:
    """Serve `handler_class` with `state` on a free port of `host`; yields the base URL.

    `on_stop` runs before the server stops, to let requests still hanging answer."""
    server = StateServer(host, handler_class, state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.base_url
    finally:
        if on_stop is not None:
            on_stop()
        server.shutdown()
        server.server_close()
        thread.join(5)
