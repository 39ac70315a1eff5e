"""A database error never writes the statement's values, secrets among them, to the log.

Issue 13, hole 3: a failing write of an inbox logged its bound parameters, the Twilio auth
token and the SMTP password with them; PostgreSQL's "Failing row contains (…)" detail
quoted them again.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import WorkspaceFixture, login
from threadline.bootstrap import Runtime

pytestmark = pytest.mark.anyio

SMTP_PASSWORD = "smtp-pass-never-logged-8Fq2"
AUTH_TOKEN = "twilio-auth-token-never-logged-41ce"
REFUSED_NAME = "Refused by the database"


@pytest.fixture
async def database_refusing_an_inbox_name(runtime: Runtime) -> AsyncIterator[None]:
    """The database refuses to store an inbox named REFUSED_NAME: a real constraint error."""
    async with runtime.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                text(
                    "ALTER TABLE inboxes ADD CONSTRAINT test_refused_name"
                    f" CHECK (name <> '{REFUSED_NAME}') NOT VALID"
                )
            )
        else:
            await conn.execute(
                text(
                    "CREATE TRIGGER test_refused_name BEFORE UPDATE ON inboxes"
                    f" WHEN NEW.name = '{REFUSED_NAME}'"
                    " BEGIN SELECT RAISE(ABORT, 'test_refused_name'); END"
                )
            )
    try:
        yield
    finally:
        async with runtime.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("ALTER TABLE inboxes DROP CONSTRAINT test_refused_name"))
            else:
                await conn.execute(text("DROP TRIGGER test_refused_name"))


@contextmanager
def server_log() -> Iterator[io.StringIO]:
    """Every line the server and the application log meanwhile, formatted with tracebacks."""
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    # uvicorn's own logger does not pass records on to the root logger.
    loggers = [logging.getLogger(), logging.getLogger("uvicorn.error")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield written
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


@pytest.mark.usefixtures("database_refusing_an_inbox_name")
async def test_a_failed_inbox_update_logs_the_error_but_not_the_secrets_it_carried(
    server: str, workspace: WorkspaceFixture
) -> None:
    async with httpx.AsyncClient(base_url=f"http://{server}") as client:
        admin = await login(client, workspace.slug, "admin")
        with server_log() as log:
            response = await client.patch(
                f"/api/v1/inboxes/{workspace.inboxes['email']}",
                headers=admin,
                json={
                    "name": REFUSED_NAME,
                    "secret": AUTH_TOKEN,
                    "settings": {"smtp_username": "support", "smtp_password": SMTP_PASSWORD},
                },
            )
            assert response.status_code == 500
            # The server logs the error after it has answered.
            for _ in range(100):
                if "UPDATE inboxes" in log.getvalue():
                    break
                await asyncio.sleep(0.05)
    logged = log.getvalue()
    # The error is in the log, the proof that the log was read.
    assert "Exception in ASGI application" in logged, logged
    assert "test_refused_name" in logged and "UPDATE inboxes" in logged, logged
    assert SMTP_PASSWORD not in logged, logged
    assert AUTH_TOKEN not in logged, logged
    assert SMTP_PASSWORD not in response.text and AUTH_TOKEN not in response.text
