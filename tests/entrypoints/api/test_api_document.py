"""The OpenAPI document declares, for every operation, the problems it can answer, as
application/problem+json with the Problem schema (the schemathesis run checks the answers)."""

from __future__ import annotations

from typing import Any

import pytest

from threadline.config import Settings
from threadline.entrypoints.api.app import create_app

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    settings = Settings(database_url="sqlite+aiosqlite:///:memory:", secret_key="unused")
    built: dict[str, Any] = create_app(settings).openapi()
    return built


def operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, by_method in document["paths"].items()
        for method, operation in by_method.items()
    ]


def test_every_problem_answer_is_problem_json_with_the_problem_schema(
    document: dict[str, Any],
) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])
    # FastAPI's own validation error shape is never answered, so it is not documented.
    assert "HTTPValidationError" not in document["components"]["schemas"]
    wrong = [
        f"{name} {status}"
        for name, operation in operations(document)
        for status, response in operation["responses"].items()
        if status.startswith("4")
        and response.get("content", {}).get("application/problem+json")
        != PROBLEM["application/problem+json"]
    ]
    assert wrong == []


def test_problems_follow_from_what_an_operation_takes(document: dict[str, Any]) -> None:
    missing = []
    for name, operation in operations(document):
        declared = set(operation["responses"])
        parameters = operation.get("parameters", [])
        wanted = set()
        if operation.get("security") or any(p["name"] == "x-api-key" for p in parameters):
            wanted |= {"401", "403"}
        if any(p["in"] == "path" for p in parameters):
            wanted.add("404")
        if parameters or "requestBody" in operation:
            wanted.add("422")
        if "requestBody" in operation:
            wanted |= {"400", "413"}
        if wanted - declared:
            missing.append(f"{name}: {sorted(wanted - declared)}")
    assert missing == []


@pytest.mark.parametrize(
    ("operation", "statuses"),
    [
        ("POST /api/v1/auth/login", {"401", "429"}),
        ("POST /api/v1/teams", {"409"}),
        ("POST /api/v1/customers/{customer_id}/merge", {"409"}),
        ("POST /api/v1/routing/offers/{offer_id}/accept", {"409"}),
        ("POST /api/v1/widget/messages", {"401", "429"}),
        ("GET /api/v1/widget/status", {"401"}),
        ("POST /forms/{inbox_id}", {"400", "413", "415", "429"}),
        ("POST /webhooks/twilio/{inbox_id}/sms", {"400", "403", "404", "413"}),
        ("POST /webhooks/telegram/{inbox_id}", {"400", "403", "404"}),
        ("POST /webhooks/cti/{inbox_id}", {"400", "403", "404"}),
    ],
)
def test_routes_declare_the_problems_only_they_know(
    document: dict[str, Any], operation: str, statuses: set[str]
) -> None:
    method, path = operation.split(" ", 1)
    declared = set(document["paths"][path][method.lower()]["responses"])
    assert statuses <= declared


def test_what_is_not_json_is_documented_as_what_it_is(document: dict[str, Any]) -> None:
    twilio = document["paths"]["/webhooks/twilio/{inbox_id}/sms"]["post"]["responses"]["200"]
    download = document["paths"]["/api/v1/attachments/{sha256}"]["get"]["responses"]["200"]
    form = document["paths"]["/forms/{inbox_id}"]["post"]
    assert set(twilio["content"]) == {"application/xml"}
    assert "application/octet-stream" in download["content"]
    # A browser's refused post gets a page with the same status as a script's problem.
    assert set(form["responses"]["429"]["content"]) == {"application/problem+json", "text/html"}
    assert "application/x-www-form-urlencoded" in form["requestBody"]["content"]
