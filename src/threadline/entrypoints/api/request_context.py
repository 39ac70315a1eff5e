"""Per request: a request id in every log line, one access line, and the HTTP metrics.

The request id is the caller's `X-Request-ID` when it is sane (a proxy's or a client's own
correlation id), else a new one; it is bound to structlog's context for as long as the request
runs, so every line the use-case logs carries it, and returned in the `X-Request-ID` response
header. The access line and the metrics name the route template (`/api/v1/customers/{id}`),
never the raw path or the query string: paths can carry tokens (`/csat/{token}`), and ids
would make one metric series per customer.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.routing import Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threadline.adapters.metrics import HTTP_DURATION, HTTP_REQUESTS
from threadline.audit import request_scope

log = structlog.get_logger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and a little punctuation, as UUIDs, hex, base64 and tracing ids use; nothing
# that could break a log line (newlines, quotes, spaces) or bloat it.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")
# Any other method is counted as "other": the label set must not grow with what clients send.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
# Probes and scrapes come every few seconds: their access lines are DEBUG, not INFO.
_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers") or ():
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _SANE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def route_template(scope: Scope, arrived: Scope) -> str:
    """The path template of the route that answered, or "unmatched". `arrived` is the scope
    as it came in: mounts rewrite the paths of the one the request went down with."""
    route = scope.get("route")  # set by the router for API routes
    if route is None:
        # The app's own plain routes (the OpenAPI document, the docs) and the static mount.
        app = scope.get("app")
        for candidate in getattr(getattr(app, "router", None), "routes", ()):
            if isinstance(candidate, Route | Mount) and candidate.matches(arrived)[0] is Match.FULL:
                route = candidate
                break
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNMATCHED
    return f"{path}/{{path}}" if isinstance(route, Mount) else path


class RequestContext:
    """Pure ASGI middleware (a BaseHTTPMiddleware would run the app in another context, and
    the request id would not reach the use-case's log lines)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        client = scope.get("client")
        with (
            structlog.contextvars.bound_contextvars(request_id=request_id),
            request_scope(request_id, client[0] if client else None),
        ):
            if scope["type"] == "http":
                await self._http(scope, receive, send)
            else:
                await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = structlog.contextvars.get_contextvars()["request_id"]
        arrived = dict(scope)
        started = time.perf_counter()
        status = 500  # unless the app answers: it raised before sending anything

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            log.exception("http.unhandled_error", route=route_template(scope, arrived))
            raise
        finally:
            seconds = time.perf_counter() - started
            method = scope["method"] if scope["method"] in _METHODS else "other"
            route = route_template(scope, arrived)
            HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
            HTTP_DURATION.labels(method=method, route=route).observe(seconds)
            log.log(
                logging.DEBUG if route in _QUIET_ROUTES else logging.INFO,
                "http.request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(seconds * 1000, 1),
            )
