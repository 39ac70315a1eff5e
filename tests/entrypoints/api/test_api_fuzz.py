"""schemathesis over the whole OpenAPI document, against the app on real databases: no input
gives a 5xx, and every answer has a status code, content type, headers and body the document
declares.

The run is bounded and the same every time: a fixed seed, derandomised generation, no example
database, a fixed number of generated examples per operation. On PostgreSQL (the stricter:
NUL, integer ranges) the coverage phase adds schemathesis's boundary cases for every
parameter; SQLite gets the generated examples only, to stay within the suite's time.

Each case is sent with one of the seeded credentials (admin, supervisor, agent, the API key,
or none) and, most of the time, with the ids of real rows in its path (tests/support/fuzz.py),
so the lookups and the code behind them are reached, not only the 404s.
"""

from __future__ import annotations

import shutil
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from requests.structures import CaseInsensitiveDict
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import _truncate_postgres
from tests.support.fuzz import SeededApi, ServedApi
from threadline.config import Settings
from threadline.entrypoints.api.app import create_app

SEED = 13
EXAMPLES_PER_OPERATION = 6
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Who sends a case; signed-in callers more often, as they reach further than a refusal.
CREDENTIALS = ("admin", "agent", "supervisor", "admin", "agent", "api_key", "none")
CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "x-visitor-token"})


def _document() -> dict[str, Any]:
    """The OpenAPI document the server serves (built without a database: it is the routes)."""
    settings = Settings(database_url="sqlite+aiosqlite:///:memory:", secret_key="unused")
    document: dict[str, Any] = create_app(settings).openapi()
    return document


def _schema(document: dict[str, Any], *, boundary_cases: bool) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            # Hypothesis times its own generation: on a busy CI machine that is no failure.
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
            "generation": {
                "max-examples": EXAMPLES_PER_OPERATION,
                "deterministic": True,
                "database": "none",
            },
            "phases": {
                "coverage": {
                    "enabled": boundary_cases,
                    # Valid boundary values; the generated examples bring the invalid ones.
                    "generation": {"mode": "positive"},
                    # Methods a path does not have are Starlette's 405, not ours to test.
                    "unexpected-methods": [],
                },
                "stateful": {"enabled": False},
            },
        }
    )
    return schemathesis.openapi.from_dict(document, config=config)


DOCUMENT = _document()
on_postgresql = _schema(DOCUMENT, boundary_cases=True)
on_sqlite = _schema(DOCUMENT, boundary_cases=False)


def _serve(database_url: str, folder: Any) -> Iterator[SeededApi]:
    served = ServedApi(database_url, str(folder / "attachments"))
    seeded = served.start()
    try:
        yield seeded
    finally:
        served.stop()


@pytest.fixture(scope="module")
def postgresql_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SeededApi]:
    url: str = request.getfixturevalue("postgres_database")
    _truncate_postgres(url)
    yield from _serve(url, tmp_path_factory.mktemp("fuzz-postgresql"))


@pytest.fixture(scope="module")
def sqlite_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SeededApi]:
    folder = tmp_path_factory.mktemp("fuzz-sqlite")
    shutil.copy(request.getfixturevalue("sqlite_template"), folder / "threadline.db")
    yield from _serve(f"sqlite+aiosqlite:///{folder / 'threadline.db'}", folder)


def send_and_check(case: schemathesis.Case[Any], api: SeededApi) -> None:
    # The credentials and the real ids are chosen from the case's own data: they vary across
    # an operation's cases, and are the same on every run (generation is derandomised).
    choice = zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode())
    who = CREDENTIALS[choice % len(CREDENTIALS)]
    pick = choice // len(CREDENTIALS)
    if pick % 3:
        for name in case.path_parameters or {}:
            if name in api.ids:
                case.path_parameters[name] = api.ids[name][pick % len(api.ids[name])]
        # The widget's routes name their inbox by its public key, in the query or the body.
        if isinstance(case.query, dict) and "inbox" in case.query:
            case.query["inbox"] = api.widget_key
        if isinstance(case.body, dict) and "inbox" in case.body:
            case.body["inbox"] = api.widget_key
    generated = {k.lower(): v for k, v in (case.headers or {}).items()}
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in CREDENTIAL_HEADERS}
    if who in api.agents:
        headers["Authorization"] = f"Bearer {api.bearer(who)}"
    elif who == "api_key":
        headers["X-API-Key"] = api.api_key
    if "x-visitor-token" in generated and who != "none":
        headers["X-Visitor-Token"] = api.visitor_token
    elif "x-visitor-token" in generated:
        headers["X-Visitor-Token"] = str(generated["x-visitor-token"])
    if isinstance(case.query, dict) and "token" in case.query and who != "none":
        case.query["token"] = api.visitor_token
    case.headers = CaseInsensitiveDict(headers)
    case.call_and_validate(base_url=api.base_url, session=api.http, checks=CHECKS, timeout=30)


@on_postgresql.parametrize()
def test_postgresql_answers_every_input_as_documented(
    case: schemathesis.Case[Any], postgresql_api: SeededApi
) -> None:
    send_and_check(case, postgresql_api)


@on_sqlite.parametrize()
def test_sqlite_answers_every_input_as_documented(
    case: schemathesis.Case[Any], sqlite_api: SeededApi
) -> None:
    send_and_check(case, sqlite_api)
