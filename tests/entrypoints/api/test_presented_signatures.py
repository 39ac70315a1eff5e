"""A signature, token or CSRF value that is not ASCII (a header's bytes decoded as Latin-1, a
form field) is no match: 401/403 with a reason, never a TypeError and a 500."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import httpx
import pytest

from tests.conftest import PASSWORD, WorkspaceFixture, customer_writes
from tests.support.api_v1 import assert_problem
from tests.support.twilio import fixture_pairs
from tests.support.twilio_inbox import twilio_inbox
from tests.support.web_sign_in import sign_in_with_the_form
from tests.support.widget import widget_key
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.domain.security.signatures import presented_matches

pytestmark = pytest.mark.anyio

# What a client sends as UTF-8 and the server reads as Latin-1 text: "Ã©Ã©".
NOT_ASCII = "éé".encode()


def test_presented_values_compare_as_bytes_whatever_they_hold() -> None:
    assert presented_matches("abc", "abc")
    assert presented_matches(b"abc", "abc")
    assert not presented_matches("éé", "abc")
    assert not presented_matches("\ud800", "abc")
    assert not presented_matches("", "")
    assert not presented_matches(None, "abc")
    assert not presented_matches("abc", None)


async def to_twilio_sms_inbox(
    runtime: Runtime,
    client: httpx.AsyncClient,
    ws: WorkspaceFixture,
    route: str,
    content: str | bytes,
    headers: dict[str, str] | dict[bytes, bytes],
) -> httpx.Response:
    """A request to `route` of the webhook of the workspace's Twilio SMS inbox."""
    inbox_id = await twilio_inbox(runtime, ws, "sms")
    return await client.post(
        f"/webhooks/twilio/{inbox_id}/{route}", content=content, headers=headers
    )


async def test_a_twilio_signature_that_is_not_ascii_is_refused(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    response = await to_twilio_sms_inbox(
        runtime,
        client,
        workspace,
        "sms",
        urlencode(fixture_pairs("sms_inbound.form")),
        {b"Content-Type": b"application/x-www-form-urlencoded", b"X-Twilio-Signature": NOT_ASCII},
    )

    assert_problem(response, 403, "X-Twilio-Signature")


async def test_a_twilio_body_hash_that_is_not_ascii_is_refused(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    response = await to_twilio_sms_inbox(
        runtime,
        client,
        workspace,
        "sms-status?bodySHA256=%C3%A9%C3%A9",
        b'{"MessageSid": "SM1", "MessageStatus": "delivered"}',
        {"Content-Type": "application/json", "X-Twilio-Signature": "c2lnbmF0dXJl"},
    )

    assert_problem(response, 403, "X-Twilio-Signature")


async def test_a_cti_signature_that_is_not_ascii_is_refused(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    async with runtime.sessionmaker() as session:
        inbox = await session.get(t.Inbox, workspace.inboxes["voice"])
        assert inbox is not None
        inbox.secret = "pbx-shared-secret"
        await session.commit()
    body = json.dumps({"event": "call.missed", "call_id": "c1", "caller": "+48601234567"})

    response = await client.post(
        f"/webhooks/cti/{workspace.inboxes['voice']}",
        content=body,
        headers={
            b"Content-Type": b"application/json",
            b"X-Threadline-Timestamp": str(int(time.time())).encode(),
            b"X-Threadline-Signature": b"v1=" + NOT_ASCII,
        },
    )

    assert_problem(response, 403, "X-Threadline-Signature")


async def test_a_visitor_token_with_a_signature_that_is_not_ascii_is_refused(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    key = await widget_key(runtime, workspace)
    session = await client.post("/api/v1/widget/session", json={"inbox": key})
    claims = session.json()["token"].partition(".")[0]

    as_header = await client.post(
        "/api/v1/widget/messages",
        json={"text": "Hello"},
        headers={"X-Visitor-Token": claims.encode() + b"." + NOT_ASCII},
    )
    in_the_body = await client.post(
        "/api/v1/widget/session", json={"inbox": key, "token": f"{claims}.éé"}
    )

    assert_problem(as_header, 401, "visitor token")
    # A session started with a token that does not verify is a new visitor's.
    assert in_the_body.status_code == 200, in_the_body.text
    assert in_the_body.json()["visitor_id"] != session.json()["visitor_id"]


async def test_a_csrf_header_that_is_not_ascii_is_refused_with_the_session_cookie(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    received = await customer_writes(client, workspace, "email", "email", "ann@example.com", "Hi")
    await sign_in_with_the_form(client, f"agent@{workspace.slug}.example.com", workspace.slug)

    response = await client.post(
        f"/api/v1/conversations/{received['conversation_id']}/notes",
        json={"text": "forged"},
        headers={b"X-CSRF-Token": NOT_ASCII},
    )

    assert_problem(response, 401, "X-CSRF-Token")


async def test_a_sign_in_form_with_a_csrf_value_that_is_not_ascii_is_refused(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    await client.get("/app/login")  # sets the sign-in form's CSRF cookie

    response = await client.post(
        "/app/login",
        data={
            "email": f"agent@{workspace.slug}.example.com",
            "password": PASSWORD,
            "workspace": workspace.slug,
            "csrf_token": "éé",
        },
    )
    language = await client.post("/app/language", data={"language": "pl", "csrf_token": "éé"})

    assert response.status_code == 403, response.text
    assert "tl_session" not in response.headers.get("set-cookie", "")
    assert language.status_code == 403, language.text
