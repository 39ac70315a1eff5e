"""Workspace-chosen destinations (webhook_url, smtp_host, imap_host, media URLs in provider
payloads) never reach internal addresses unless the installation allows the network:
refused with 422 when saved, and again when Threadline connects.

Private, link-local and metadata ranges are only ever judged by validation here; the only
live target is loopback, which this module's installation does not allow (the product's
default) unless a test allows it explicitly.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from tests.conftest import LOOPBACK_NETWORKS, WorkspaceFixture, customer_writes, login
from tests.support.delivery import agent_replies, deliver, message_and_job
from tests.support.inboxes_api import new_api_inbox
from tests.support.meta import configure_meta, fixture_bytes, messages, post_webhook
from tests.support.meta_graph import GraphServer, running_graph
from tests.support.receiver import Receiver
from tests.support.smtp_sink import SmtpSink, running_smtp_sink
from tests.support.twilio import configure_twilio_inbox, fixture_pairs, post_signed
from threadline.adapters.db import tables as t
from threadline.adapters.egress.http import checked_client
from threadline.bootstrap import Runtime
from threadline.config import Settings
from threadline.domain.security.egress import EgressPolicy, EgressRefused
from threadline.integrations.email.imap_poller import poll_inbox

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The product's default installation: no internal network allowed."""
    settings.outbound_allowed_networks = []
    return settings


# --- when the setting is saved -----------------------------------------------------------

REFUSED_SETTINGS = [
    ("api", "webhook_url", "http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("api", "webhook_url", "http://[fd00:ec2::254]/latest", "cloud metadata"),
    ("api", "webhook_url", "http://metadata.google.internal/computeMetadata/v1/", "cloud metadata"),
    ("api", "webhook_url", "https://10.0.0.5/hook", "private"),
    ("api", "webhook_url", "http://[::ffff:192.168.1.20]:8080/hook", "private"),
    ("api", "webhook_url", "http://169.254.10.1/hook", "link-local"),
    ("api", "webhook_url", "http://100.64.1.1/hook", "carrier-grade NAT"),
    ("api", "webhook_url", "http://0x7f.1:9000/hook", "loopback"),
    ("api", "webhook_url", "http://localhost:9000/hook", "loopback"),
    ("email", "smtp_host", "192.168.0.10", "private"),
    ("email", "smtp_host", "fe80::1", "link-local"),
    ("email", "imap_host", "172.20.0.3", "private"),
    ("email", "imap_host", "metadata.goog", "cloud metadata"),
]


@pytest.mark.parametrize(("channel", "name", "value", "rule"), REFUSED_SETTINGS)
async def test_an_internal_destination_is_refused_when_saved_naming_host_and_rule(
    client: httpx.AsyncClient,
    workspace: WorkspaceFixture,
    channel: str,
    name: str,
    value: str,
    rule: str,
) -> None:
    admin = await login(client, workspace.slug, "admin")
    created = await client.post(
        "/api/v1/inboxes",
        headers=admin,
        json={"name": "Risky", "channel": channel, "settings": {name: value}},
    )
    assert created.status_code == 422, created.text
    assert created.headers["content-type"].startswith("application/problem+json")
    detail = created.json()["detail"]
    assert detail.startswith(f"{name}: ") and f"the {rule} range" in detail
    host = value if name != "webhook_url" else httpx.URL(value).host
    assert host in detail

    patched = await client.patch(
        f"/api/v1/inboxes/{workspace.inboxes[channel]}",
        headers=admin,
        json={"settings": {name: value}},
    )
    assert patched.status_code == 422, patched.text
    assert f"the {rule} range" in patched.json()["detail"]


async def test_public_destinations_are_saved(
    client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    admin = await login(client, workspace.slug, "admin")
    api = await new_api_inbox(client, admin, "https://app.example.com/threadline")
    assert api.status_code == 201, api.text
    email = await client.patch(
        f"/api/v1/inboxes/{workspace.inboxes['email']}",
        headers=admin,
        json={"settings": {"smtp_host": "smtp.example.com", "imap_host": "8.8.8.8"}},
    )
    assert email.status_code == 200, email.text


async def test_a_lan_the_installation_allows_may_be_saved(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    runtime.settings.outbound_allowed_networks = ["10.0.0.0/8"]
    admin = await login(client, workspace.slug, "admin")
    allowed = await client.patch(
        f"/api/v1/inboxes/{workspace.inboxes['email']}",
        headers=admin,
        json={"settings": {"smtp_host": "10.1.2.3"}},
    )
    assert allowed.status_code == 200, allowed.text
    still_refused = await client.patch(
        f"/api/v1/inboxes/{workspace.inboxes['email']}",
        headers=admin,
        json={"settings": {"smtp_host": "192.168.1.1"}},
    )
    assert still_refused.status_code == 422


# --- when Threadline connects --------------------------------------------------------------


async def store_settings(runtime: Runtime, inbox_id: int, **values: Any) -> str:
    """Settings written as an inbox saved before the rule (or named by a host whose DNS
    now says loopback) would hold them; returns the inbox's secret."""
    async with runtime.sessionmaker() as session:
        await session.execute(update(t.Inbox).where(t.Inbox.id == inbox_id).values(**values))
        await session.commit()
        inbox = await session.get(t.Inbox, inbox_id)
        assert inbox is not None and inbox.secret
        return inbox.secret


async def customer_then_agent_reply(
    runtime: Runtime,
    client: httpx.AsyncClient,
    ws: WorkspaceFixture,
    channel: str,
    *,
    kind: str,
    value: str,
) -> int:
    written = await customer_writes(client, ws, channel, kind, value, "Where is my order?")
    return await agent_replies(runtime, ws, written["conversation_id"], "Today.")


async def test_a_webhook_to_loopback_fails_at_send_time_and_is_delivered_once_allowed(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture, receiver: Receiver
) -> None:
    assert receiver.url.startswith("http://127.0.0.1:")
    receiver.secret = await store_settings(
        runtime, workspace.inboxes["api"], settings={"webhook_url": receiver.url}
    )
    refused_id = await customer_then_agent_reply(
        runtime, client, workspace, "api", kind="external", value="app-user-7"
    )

    await deliver(runtime)

    message, job = await message_and_job(runtime, refused_id)
    assert message.delivery_status == "failed"
    assert message.failure_reason is not None
    assert message.failure_reason.startswith("webhook_url refused: 127.0.0.1 is in the loopback")
    assert job.status == "failed" and job.attempts == 1  # not retried: it would never pass
    assert receiver.requests == []
    assert message.text == "Today."  # the reply is kept, with the reason, nothing lost

    lan = runtime.settings.model_copy(update={"outbound_allowed_networks": ["127.0.0.0/8"]})
    delivered_id = await customer_then_agent_reply(
        runtime, client, workspace, "api", kind="external", value="app-user-7"
    )
    await deliver(runtime, settings=lan)

    message, job = await message_and_job(runtime, delivered_id)
    assert message.delivery_status == "sent" and job.status == "done"
    [received] = receiver.requests
    assert received.signature_ok and received.body["message"]["id"] == delivered_id


async def test_mail_through_a_loopback_smtp_host_fails_at_send_time(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture
) -> None:
    with running_smtp_sink() as sink:
        await store_settings(
            runtime,
            workspace.inboxes["email"],
            address="support@acme.example.com",
            settings={"smtp_host": sink.host, "smtp_port": sink.port, "starttls": False},
        )
        message_id = await customer_then_agent_reply(
            runtime, client, workspace, "email", kind="email", value="jane@customer.example"
        )
        await deliver(runtime)
        message, job = await message_and_job(runtime, message_id)
        assert message.delivery_status == "failed" and job.status == "failed"
        assert message.failure_reason is not None
        assert message.failure_reason.startswith("smtp_host refused: 127.0.0.1 is in the loopback")
        assert sink.attempts == 0 and sink.received == []

        await sink_accepts_when_allowed(runtime, client, workspace, sink)


async def sink_accepts_when_allowed(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture, sink: SmtpSink
) -> None:
    lan = runtime.settings.model_copy(update={"outbound_allowed_networks": LOOPBACK_NETWORKS})
    message_id = await customer_then_agent_reply(
        runtime, client, workspace, "email", kind="email", value="jane@customer.example"
    )
    await deliver(runtime, settings=lan)
    message, _ = await message_and_job(runtime, message_id)
    assert message.delivery_status == "sent", message.failure_reason
    [mail] = sink.received
    assert mail.rcpt_tos == ["jane@customer.example"]


@contextmanager
def counting_listener() -> Iterator[tuple[int, list[int]]]:
    """A TCP port on 127.0.0.1 that counts the connections made to it."""
    accepted: list[int] = []
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            accepted.append(1)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], accepted
    finally:
        stop.set()
        thread.join()
        server.close()


async def test_a_mailbox_on_a_loopback_imap_host_is_not_connected_to(
    runtime: Runtime, workspace: WorkspaceFixture
) -> None:
    with counting_listener() as (port, accepted):
        await store_settings(
            runtime,
            workspace.inboxes["email"],
            settings={
                "imap_host": "127.0.0.1",
                "imap_port": port,
                "imap_username": "support",
                "imap_password": "secret-password",
                "imap_ssl": False,
            },
        )
        report = await poll_inbox(runtime, workspace.inboxes["email"])
    assert report.refused is not None
    assert report.refused.startswith("imap_host refused: 127.0.0.1 is in the loopback")
    assert report.fetched == 0 and accepted == []


# --- media URLs taken from provider payloads ----------------------------------------------


@contextmanager
def file_server(host: str, answer: Any) -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on `host` answering every GET with `answer(handler)`; yields its base
    URL and the paths it was asked for."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            answer(self)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def serve_bytes(handler: BaseHTTPRequestHandler) -> None:
    data = b"\xff\xd8jpeg-bytes"
    handler.send_response(200)
    handler.send_header("Content-Type", "image/jpeg")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


async def test_each_redirect_hop_of_a_media_download_is_checked(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture, tmp_path: Path
) -> None:
    """Twilio's media URL redirects to where the file is kept, like Twilio's own: a hop to
    an address the installation does not allow is not followed."""
    runtime.settings.attachments_dir = str(tmp_path)
    runtime.settings.public_base_url = ""
    sms_inbox = workspace.inboxes["sms"]
    await configure_twilio_inbox(runtime, sms_inbox)
    with file_server("127.0.0.2", serve_bytes) as (storage, stored_asked):

        def redirect(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(307)
            handler.send_header("Location", f"{storage}{handler.path}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        with file_server("127.0.0.1", redirect) as (media_base, media_asked):
            # Only the first hop's address is allowed.
            runtime.settings.outbound_allowed_networks = ["127.0.0.1/32"]
            pairs = fixture_pairs("mms_inbound.form", MEDIA_BASE=media_base)
            response = await post_signed(client, f"/webhooks/twilio/{sms_inbox}/sms", pairs)
            assert response.status_code == 200, response.text
            assert len(media_asked) == 2 and stored_asked == []
            [refused] = await twilio_messages(runtime)
            assert all("127.0.0.2 is in the loopback range" in a["error"] for a in refused)

            runtime.settings.outbound_allowed_networks = ["127.0.0.0/8"]
            second = [(k, v.replace("MM", "MN") if k == "MessageSid" else v) for k, v in pairs]
            response = await post_signed(client, f"/webhooks/twilio/{sms_inbox}/sms", second)
            assert response.status_code == 200, response.text
            assert len(media_asked) == 4 and len(stored_asked) == 2
            _, fetched = await twilio_messages(runtime)
            assert [a["size"] for a in fetched] == [12, 12]


async def twilio_messages(runtime: Runtime) -> list[list[dict[str, Any]]]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(t.Message.attachments).where(t.Message.channel == "sms").order_by(t.Message.id)
        )
        return [list(a) for a in rows.scalars()]


async def test_a_messenger_attachment_on_an_internal_address_is_kept_as_refused(
    runtime: Runtime, client: httpx.AsyncClient, workspace: WorkspaceFixture, tmp_path: Path
) -> None:
    with running_graph() as graph:
        graph.cdn["/v/t1.15752-9/kettle.jpg"] = ("image/jpeg", b"kettle")
        meta = await configure_meta(runtime, workspace, graph, tmp_path)
        response = await post_webhook(
            client, "messenger", meta.messenger, fixture_bytes("messenger", "image.json", graph)
        )
        assert response.status_code == 200, response.text
        assert graph_fetches(graph) == []
    [message] = await messages(runtime, workspace.id)
    [attachment] = message.attachments
    assert "loopback range" in attachment["rejected"] and "sha256" not in attachment


def graph_fetches(graph: GraphServer) -> list[Any]:
    return list(graph.fetches())


# --- the checking client itself -----------------------------------------------------------


@pytest.fixture
def localhost_certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
async def tls_server(
    localhost_certificate: tuple[Path, Path],
) -> AsyncIterator[tuple[int, list[str | None], list[bytes]]]:
    """HTTPS on 127.0.0.1 with a certificate for the name localhost only; records the SNI
    names and request heads it saw."""
    cert, key = localhost_certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    names: list[str | None] = []
    heads: list[bytes] = []
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1], names, heads
    finally:
        server.close()


async def test_a_checked_connection_speaks_tls_for_the_name_not_the_address(
    tls_server: tuple[int, list[str | None], list[bytes]],
    localhost_certificate: tuple[Path, Path],
) -> None:
    port, names, heads = tls_server
    trust = ssl.create_default_context(cafile=str(localhost_certificate[0]))
    loopback = EgressPolicy.allowing(LOOPBACK_NETWORKS)
    async with checked_client(loopback, 5, verify=trust) as http:
        response = await http.get(f"https://localhost:{port}/hook")
        assert response.status_code == 200
        assert names == ["localhost"]
        assert heads[0].startswith(b"GET /hook ") and f"Host: localhost:{port}".encode() in heads[0]
        # The certificate is checked against the URL's name: by address it does not match.
        with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|IP address"):
            await http.get(f"https://127.0.0.1:{port}/hook")


async def test_a_name_is_resolved_once_and_connected_to_at_the_address_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: the resolver answers loopback (allowed here) first and the metadata
    address afterwards; the connection goes to the first, checked answer and never asks
    again, with the URL's own name in the Host header."""
    loop = asyncio.get_running_loop()
    asked: list[str] = []
    hosts: list[str | None] = []

    async def rebinding(host: str, port: int, **_: Any) -> list[Any]:
        asked.append(host)
        address = "127.0.0.1" if len(asked) == 1 else "169.254.169.254"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    def answer(handler: BaseHTTPRequestHandler) -> None:
        hosts.append(handler.headers.get("Host"))
        serve_bytes(handler)

    monkeypatch.setattr(loop, "getaddrinfo", rebinding)
    with file_server("127.0.0.1", answer) as (base, paths):
        port = httpx.URL(base).port
        async with checked_client(EgressPolicy.allowing(LOOPBACK_NETWORKS), 5) as http:
            response = await http.get(f"http://app.rebind.test:{port}/file")
    assert response.status_code == 200 and response.content == b"\xff\xd8jpeg-bytes"
    assert asked == ["app.rebind.test"]
    assert paths == ["/file"] and hosts == [f"app.rebind.test:{port}"]


async def test_one_internal_answer_among_public_ones_refuses_the_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()

    async def mixed(host: str, port: int, **_: Any) -> list[Any]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(loop, "getaddrinfo", mixed)
    async with checked_client(EgressPolicy(), 5) as http:
        with pytest.raises(EgressRefused, match=r"app.example.test \(address 10.0.0.7\)"):
            await http.get("https://app.example.test/")
