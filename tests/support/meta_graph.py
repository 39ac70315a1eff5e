"""A real HTTP server on 127.0.0.1 speaking Meta's Graph API, for WhatsApp and Messenger.

It answers the Cloud API and Send API message calls with Meta's response shapes, serves
media the Graph way (GET /{version}/{media-id} -> JSON with a url; GET the url with the
same Bearer token -> bytes), serves plain CDN files for Messenger attachments, records
every request and can be scripted to answer errors.

For sends whose answer is lost it can take the next message and then answer only after
the client has given up ("hang"), or close the connection without answering ("drop");
what it took is in `accepted` (the request body and the id Meta gave it).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from tests.support.local_http import (
    QuietHandler,
    ignoring_client_hang_ups,
    read_body,
    respond,
    serving,
)

VERSION = "v21.0"
ACCESS_TOKEN = "EAAG-test-access-token"


@dataclass
class GraphRequest:
    method: str
    path: str
    authorization: str | None
    body: Any


@dataclass
class GraphServer:
    base: str = ""
    requests: list[GraphRequest] = field(default_factory=list)
    # media id -> (content type, bytes)
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    # CDN path -> (content type, bytes), fetched without a token (Messenger attachments)
    cdn: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    # Scripted answers for the next message sends: (status, JSON body)
    script: deque[tuple[int, dict[str, Any]]] = field(default_factory=deque)
    # Provider ids to hand out for the next accepted sends, before the generated ones.
    next_ids: deque[str] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    # "hang" or "drop" for the next message sends (see the module's docstring).
    misbehave: deque[str] = field(default_factory=deque)
    release: threading.Event = field(default_factory=threading.Event)
    hang_seconds: float = 10.0
    # (request body, message id) of every message taken, in order.
    accepted: list[tuple[Any, str]] = field(default_factory=list)

    def sends(self) -> list[GraphRequest]:
        with self.lock:
            return [r for r in self.requests if r.method == "POST"]

    def fetches(self) -> list[GraphRequest]:
        with self.lock:
            return [r for r in self.requests if r.method == "GET"]

    def answer_next(self, status: int, body: dict[str, Any]) -> None:
        with self.lock:
            self.script.append((status, body))

    def misbehave_next(self, *modes: str) -> None:
        assert set(modes) <= {"hang", "drop"}, modes
        with self.lock:
            self.misbehave.extend(modes)

    def handle(self, handler: BaseHTTPRequestHandler) -> tuple[int, str, bytes] | None:
        path = urlsplit(handler.path).path
        raw = read_body(handler)
        body = json.loads(raw) if raw else None
        authorization = handler.headers.get("Authorization")
        with self.lock:
            self.requests.append(GraphRequest(handler.command, path, authorization, body))
        if handler.command == "GET":
            return self._get(path, authorization)
        if authorization != f"Bearer {ACCESS_TOKEN}":
            return _error(401, "Invalid OAuth access token.", "OAuthException", 190)
        with self.lock:
            scripted = self.script.popleft() if self.script else None
            provider_id = self.next_ids.popleft() if self.next_ids else None
            number = next(self._counter)
        if scripted is not None:
            return scripted[0], "application/json", json.dumps(scripted[1]).encode()
        if path == f"/{VERSION}/me/messages":
            assert body is not None, "a Send API call carries a JSON body"
            answer = {
                "recipient_id": body["recipient"]["id"],
                "message_id": provider_id or f"m_fake{number:04d}",
            }
        elif path.endswith("/messages"):
            assert body is not None, "a Cloud API message call carries a JSON body"
            answer = {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": provider_id or f"wamid.FAKE{number:04d}"}],
            }
        else:
            return _error(404, "Unknown path", "GraphMethodException", 100)
        given = answer.get("message_id") or answer["messages"][0]["id"]
        with self.lock:
            self.accepted.append((body, given))
            mode = self.misbehave.popleft() if self.misbehave else None
        if mode == "drop":
            return None  # taken, and the connection closes before any answer
        if mode == "hang":
            self.release.wait(self.hang_seconds)
        return 200, "application/json", json.dumps(answer).encode()

    def _get(self, path: str, authorization: str | None) -> tuple[int, str, bytes]:
        if path in self.cdn:
            content_type, data = self.cdn[path]
            return 200, content_type, data
        if authorization != f"Bearer {ACCESS_TOKEN}":
            return _error(401, "Invalid OAuth access token.", "OAuthException", 190)
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == VERSION and parts[1] in self.media:
            content_type, data = self.media[parts[1]]
            described = {
                "messaging_product": "whatsapp",
                "url": f"{self.base}/whatsapp_business/attachments/{parts[1]}",
                "mime_type": content_type,
                "file_size": len(data),
                "id": parts[1],
            }
            return 200, "application/json", json.dumps(described).encode()
        if len(parts) == 3 and parts[:2] == ["whatsapp_business", "attachments"]:
            if parts[2] in self.media:
                content_type, data = self.media[parts[2]]
                return 200, content_type, data
        return _error(404, "Unsupported get request.", "GraphMethodException", 100)


def _error(status: int, message: str, kind: str, code: int) -> tuple[int, str, bytes]:
    body = {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AbC123"}}
    return status, "application/json", json.dumps(body).encode()


class _Handler(QuietHandler[GraphServer]):
    def _answer(self) -> None:
        with ignoring_client_hang_ups():
            answer = self.server.state.handle(self)
            if answer is None:
                self.close_connection = True
                return
            status, content_type, payload = answer
            respond(self, status, payload, content_type)

    do_GET = _answer
    do_POST = _answer


@contextmanager
def running_graph() -> Iterator[GraphServer]:
    """A GraphServer listening on a free port of 127.0.0.1."""
    graph = GraphServer()
    with serving(_Handler, graph, on_stop=graph.release.set) as base_url:
        graph.base = base_url
        yield graph
