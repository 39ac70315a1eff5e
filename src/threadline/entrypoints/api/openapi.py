"""The OpenAPI document, with the problems (RFC 9457) every operation can answer.

FastAPI documents an operation's success and its own validation error. Ours answer errors as
problem details (`application/problem+json`, see problems.py), and which of them an operation
can answer follows from what its route depends on and takes, so it is worked out here once,
when the document is built, rather than written on every route:

- it signs the caller in (depends on `current_credential`): 401, and 403 for a role or
  permission the caller lacks;
- it has a path parameter, or an id (`*_id`, `*_ids`) in its query or body, that is looked up:
  404;
- it takes any parameter or body: 422 when one is invalid;
- it takes a body: 400 for malformed JSON and 413 for one over the size limit.

What only a route knows (409 for a conflict, 429 where it is throttled, 403 for a webhook's
signature) it declares itself with `responses=problem_responses(...)`, on the route or its
router; every 4xx answer of the document is then given the Problem schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from threadline.entrypoints.api.deps import current_credential
from threadline.entrypoints.api.problems import PROBLEM_JSON, PROBLEM_TITLES

PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error, as RFC 9457 problem details, with a reason a person can act on.",
    "type": "object",
    "properties": {
        "type": {"type": "string", "description": "A URI naming the kind of problem"},
        "title": {"type": "string", "description": "The kind of problem, in words"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What is wrong with this request"},
        "errors": {
            "type": "array",
            "description": "For an invalid request: each field that is wrong, and why",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
                "required": ["field", "reason"],
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
}
# FastAPI's own description of a validation error; ours is a Problem with `errors`.
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


# For `responses=` on a route that answers a file.
DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, as a download",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def problem_responses(*statuses: int, pages: bool = False) -> dict[int | str, dict[str, Any]]:
    """For `responses=` on a route or router: problems only that route can answer. `pages`:
    a browser is answered with an HTML page of the same status instead."""
    content: dict[str, Any] = {"content": {"text/html": {}}} if pages else {}
    return {status: {"description": PROBLEM_TITLES[status], **content} for status in statuses}


def install_openapi(app: FastAPI) -> None:
    """Replace the app's document builder with one that documents every problem answer."""

    fastapi_document = app.openapi

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            # FastAPI's document (it keeps it as app.openapi_schema), then our problems in it.
            document_problems(fastapi_document(), app.routes)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def document_problems(document: dict[str, Any], routes: list[Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    paths = document.get("paths", {})
    for route in _api_routes(routes):
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _document_operation(operation, route, schemas)
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)


def _api_routes(routes: list[Any]) -> Iterator[Any]:
    """The documented API routes, each as FastAPI sees it once included (its full path, and
    the dependencies its routers add)."""
    # FastAPI >= 0.16x keeps included routers as a tree and resolves routes in context.
    in_context = getattr(fastapi.routing, "iter_route_contexts", None)
    for route in in_context(routes) if in_context is not None else routes:
        original = getattr(route, "original_route", route)
        if isinstance(original, APIRoute) and route.include_in_schema:
            yield route


def _document_operation(operation: dict[str, Any], route: Any, schemas: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in sorted(_problem_statuses(route, operation, schemas)):
        responses.setdefault(str(status), {"description": PROBLEM_TITLES[status]})
    for code, response in responses.items():
        if code[0] in "45" and int(code) in PROBLEM_TITLES:
            response["description"] = PROBLEM_TITLES[int(code)]
            # Pages a route declared (text/html) stay; FastAPI's JSON placeholder goes.
            others = {
                media: value
                for media, value in response.get("content", {}).items()
                if media not in {"application/json", PROBLEM_JSON}
            }
            # A route that describes its own problem (/readyz lists its checks) keeps it.
            own = response.get("content", {}).get(PROBLEM_JSON)
            problem_content = (
                own if own and own.get("schema") else {"schema": {"$ref": PROBLEM_REF}}
            )
            response["content"] = {PROBLEM_JSON: problem_content, **others}
    operation["responses"] = dict(sorted(responses.items()))


def _problem_statuses(route: Any, operation: dict[str, Any], schemas: dict[str, Any]) -> set[int]:
    statuses: set[int] = set()
    if current_credential in _calls(route.dependant):
        statuses |= {401, 403}
    parameters = operation.get("parameters", [])
    body_fields = _body_properties(operation, schemas)
    looked_up = [p["name"] for p in parameters if p.get("in") == "path"]
    looked_up += [p["name"] for p in parameters if _is_id(p["name"])]
    looked_up += [name for name in body_fields if _is_id(name)]
    if looked_up:
        statuses.add(404)
    if parameters or "requestBody" in operation:
        statuses.add(422)
    if "requestBody" in operation:
        statuses |= {400, 413}
    return statuses


def _is_id(name: str) -> bool:
    return name.endswith(("_id", "_ids"))


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any] | None]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _body_properties(operation: dict[str, Any], schemas: dict[str, Any]) -> list[str]:
    """The top-level field names of an operation's JSON body."""
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = schemas.get(ref.rsplit("/", 1)[-1], {})
    properties = schema.get("properties", {})
    return list(properties) if isinstance(properties, dict) else []
