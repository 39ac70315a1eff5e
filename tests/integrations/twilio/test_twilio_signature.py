"""X-Twilio-Signature: Twilio's documented examples, the JSON body-hash variant, port
normalisation, and what our webhooks do with a forged or missing signature."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import WorkspaceFixture
from tests.support.twilio import (
    AUTH_TOKEN,
    configure_twilio_inbox,
    fixture_pairs,
    post_form,
    post_signed,
)
from threadline.adapters.db import tables as t
from threadline.bootstrap import Runtime
from threadline.integrations.twilio.signature import (
    body_sha256,
    compute_signature,
    url_variants,
    validate_form_request,
    validate_json_request,
)

# The example of Twilio's security documentation and helper-library tests.
TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
EXPECTED = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_documented_example_signature() -> None:
    assert compute_signature(TOKEN, URL, PARAMS.items()) == EXPECTED
    assert validate_form_request(TOKEN, URL, PARAMS.items(), EXPECTED)


def test_parameter_order_does_not_matter_but_every_value_does() -> None:
    assert validate_form_request(TOKEN, URL, reversed(list(PARAMS.items())), EXPECTED)
    tampered = {**PARAMS, "Digits": "9999"}
    assert not validate_form_request(TOKEN, URL, tampered.items(), EXPECTED)
    assert not validate_form_request(TOKEN, URL + "&baz=3", PARAMS.items(), EXPECTED)
    assert not validate_form_request("54321", URL, PARAMS.items(), EXPECTED)
    assert not validate_form_request(TOKEN, URL, PARAMS.items(), None)
    assert not validate_form_request(TOKEN, URL, PARAMS.items(), "")


def test_repeated_keys_sign_all_values_sorted() -> None:
    pairs = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    assert compute_signature(TOKEN, URL, pairs) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


@pytest.mark.parametrize(
    ("received_url", "signature"),
    [
        # Signed without a port, received with one: the port is dropped.
        ("https://mycompany.com:1234/myapp.php?foo=1&bar=2", EXPECTED),
        # Signed with the port as received.
        ("http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        # Signed with the default port, received without: it is added.
        (URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),
        ("http://mycompany.com/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4="),
    ],
)
def test_port_variants(received_url: str, signature: str) -> None:
    assert validate_form_request(TOKEN, received_url, PARAMS.items(), signature)


def test_url_variants_keep_credentials_and_ipv6_hosts() -> None:
    assert url_variants("https://u:p@[::1]:8443/x?y=1") == [
        "https://u:p@[::1]:8443/x?y=1",
        "https://u:p@[::1]/x?y=1",
    ]


def test_json_body_variant_signs_the_url_with_the_body_hash() -> None:
    body = b'{"property": "value", "boolean": true}'
    digest = body_sha256(body)
    assert digest == "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    url = f"{URL}&bodySHA256={digest}"
    assert validate_json_request(TOKEN, url, body, "a9nBmqA0ju/hNViExpshrM61xv4=")
    assert not validate_json_request(TOKEN, url, body + b" ", "a9nBmqA0ju/hNViExpshrM61xv4=")
    assert not validate_json_request(TOKEN, URL, body, compute_signature(TOKEN, URL))


# --- through HTTP -------------------------------------------------------------------------


async def stored_messages(runtime: Runtime) -> int:
    async with runtime.sessionmaker() as session:
        return int(
            (await session.execute(select(func.count()).select_from(t.Message))).scalar_one()
        )


@pytest.fixture
async def sms_path(runtime: Runtime, workspace: WorkspaceFixture) -> str:
    """The SMS webhook of the workspace's Twilio-configured SMS inbox, its path as posted."""
    await configure_twilio_inbox(runtime, workspace.inboxes["sms"])
    runtime.settings.public_base_url = ""
    runtime.settings.trust_forwarded_headers = False
    return f"/webhooks/twilio/{workspace.inboxes['sms']}/sms"


@pytest.mark.anyio
@pytest.mark.parametrize("forgery", ["wrong token", "missing header", "tampered body"])
async def test_forged_or_missing_signature_is_403_and_nothing_is_stored(
    runtime: Runtime, client: httpx.AsyncClient, sms_path: str, forgery: str
) -> None:
    pairs = fixture_pairs("sms_inbound.form")
    if forgery == "wrong token":
        response = await post_signed(client, sms_path, pairs, token="not-the-token")
    elif forgery == "missing header":
        response = await post_form(client, sms_path, pairs)
    else:
        signature = compute_signature(AUTH_TOKEN, f"http://threadline.test{sms_path}", pairs)
        tampered = [(k, "Send me a refund" if k == "Body" else v) for k, v in pairs]
        response = await post_signed(client, sms_path, tampered, signature=signature)

    assert response.status_code == 403
    assert "X-Twilio-Signature" in response.json()["detail"]
    assert await stored_messages(runtime) == 0


@pytest.mark.anyio
async def test_signature_is_checked_against_the_configured_public_url(
    runtime: Runtime, client: httpx.AsyncClient, sms_path: str
) -> None:
    runtime.settings.public_base_url = "https://support.example.com"
    pairs = fixture_pairs("sms_inbound.form")
    # Twilio signed the public URL with the default port spelled out.
    signature = compute_signature(AUTH_TOKEN, f"https://support.example.com:443{sms_path}", pairs)
    response = await post_signed(client, sms_path, pairs, signature=signature)
    assert response.status_code == 200, response.text
    assert await stored_messages(runtime) == 1


@pytest.mark.anyio
async def test_forwarded_headers_count_only_when_the_proxy_is_trusted(
    runtime: Runtime, client: httpx.AsyncClient, sms_path: str
) -> None:
    pairs = fixture_pairs("sms_inbound.form")
    headers = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "support.example.com",
        "X-Twilio-Signature": compute_signature(
            AUTH_TOKEN, f"https://support.example.com{sms_path}", pairs
        ),
    }
    untrusted = await post_form(client, sms_path, pairs, headers)
    assert untrusted.status_code == 403

    runtime.settings.trust_forwarded_headers = True
    trusted = await post_form(client, sms_path, pairs, headers)
    assert trusted.status_code == 200, trusted.text


@pytest.mark.anyio
async def test_json_webhook_with_body_hash_is_accepted_and_a_wrong_hash_refused(
    runtime: Runtime, client: httpx.AsyncClient, sms_path: str
) -> None:
    body = json.dumps(dict(fixture_pairs("sms_inbound.form"))).encode()
    path = f"{sms_path}?bodySHA256={body_sha256(body)}"
    signature = compute_signature(AUTH_TOKEN, f"http://threadline.test{path}")
    headers = {"Content-Type": "application/json", "X-Twilio-Signature": signature}

    refused = await client.post(path, content=body + b"\n", headers=headers)
    assert refused.status_code == 403
    accepted = await client.post(path, content=body, headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert await stored_messages(runtime) == 1


@pytest.mark.anyio
async def test_malformed_sms_payload_is_400_with_the_reason_and_nothing_stored(
    runtime: Runtime, client: httpx.AsyncClient, sms_path: str
) -> None:
    pairs = [(k, v) for k, v in fixture_pairs("sms_inbound.form") if k != "From"]
    response = await post_signed(client, sms_path, pairs)
    assert response.status_code == 400 and "From" in response.json()["detail"]

    bad_media = [(k, "two" if k == "NumMedia" else v) for k, v in fixture_pairs("sms_inbound.form")]
    response = await post_signed(client, sms_path, bad_media)
    assert response.status_code == 400 and "NumMedia" in response.json()["detail"]
    assert await stored_messages(runtime) == 0


@pytest.mark.anyio
async def test_an_inbox_of_another_channel_is_not_a_twilio_endpoint(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    path = f"/webhooks/twilio/{workspace.inboxes['email']}/sms"
    response = await post_signed(client, path, fixture_pairs("sms_inbound.form"))
    assert response.status_code == 404
    assert await stored_messages(runtime) == 0
