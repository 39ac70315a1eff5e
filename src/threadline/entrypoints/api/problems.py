"""Errors as JSON problem details (RFC 9457) with a reason a person can act on."""

from __future__ import annotations

import logging
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from threadline.domain.errors import DomainError

log = structlog.get_logger(__name__)
PROBLEM_JSON = "application/problem+json"
# The title of each status's problem, where nothing more specific is known.
PROBLEM_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    503: "Service unavailable",
}


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    # Logged inside the request's context, so the line carries its request id.
    log.log(
        logging.WARNING if status >= 500 else logging.INFO,
        "http.problem",
        status=status,
        title=title,
        detail=detail[:500],
    )
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.reason)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _location(e.get("loc", ())), "reason": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        status = 400 if any(e.get("type") == "json_invalid" for e in exc.errors()) else 422
        title = "Malformed JSON" if status == 400 else "Invalid request"
        return problem(status, title, summary, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, _title(exc.status_code), str(exc.detail))


def _title(status: int) -> str:
    return PROBLEM_TITLES.get(status, "Error")
