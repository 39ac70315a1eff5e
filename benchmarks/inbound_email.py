"""Inbound emails per second through the built-in SMTP server (used by webhooks.py).

`threadline.entrypoints.api.app:create_app` runs as a real uvicorn process with
THREADLINE_SMTP_ENABLED, so the SMTP server is the one `threadline serve` starts; mail is
delivered over TCP with aiosmtplib, and every 250 means the message is committed.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from threadline.bootstrap import build_runtime
from threadline.config import Settings
from threadline.domain.channels import Channel
from threadline.workspace.create import create_inbox, create_workspace
from threadline.workspace.email_domains import allow_email_domain

BENCH_DOMAIN = "bench.example.com"


@dataclass(frozen=True)
class EmailRun:
    count: int
    seconds: float
    latencies: list[float]
    failures: int


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def prepare_email_inbox(database_url: str) -> str:
    """A new workspace with an email inbox on a mail domain of its own; its address."""
    runtime = build_runtime(Settings(database_url=database_url, run_outbound_worker=False))
    slug = f"mail-{uuid.uuid4().hex[:6]}"
    # Each run's own domain: an address, and a domain, belong to one workspace only.
    domain = f"{slug}.{BENCH_DOMAIN}"
    try:
        async with runtime.uow() as uow:
            workspace = await create_workspace(
                uow, name="Mail bench", slug=slug, default_region="PL"
            )
            await allow_email_domain(uow, workspace.id, domain, allowed_by="benchmark")
            inbox = await create_inbox(
                uow, workspace.id, name="email", channel=Channel.EMAIL, address=f"support@{domain}"
            )
            await uow.commit()
            return str(inbox.address)
    finally:
        await runtime.close()


def customer_mail(number: int, customers: int, rng: random.Random, to: str) -> bytes:
    """A typical customer mail: text and HTML alternative, every tenth with a small file."""
    who = rng.randrange(customers)
    mail = EmailMessage()
    mail["From"] = f"Customer {who} <customer{who}@example.net>"
    mail["To"] = to
    mail["Subject"] = f"Order {who}: question {number}"
    mail["Message-ID"] = make_msgid(f"bench{number}", "example.net")
    text = f"Hello,\n\nwhere is my order {who}? This is message {number}.\n\n-- \nCustomer {who}\n"
    mail.set_content(text)
    mail.add_alternative(f"<p>Hello,</p><p>where is my order {who}?</p>", subtype="html")
    if number % 10 == 0:
        mail.add_attachment(os.urandom(20_000), maintype="image", subtype="jpeg", filename="a.jpg")
    return mail.as_bytes()


async def _wait_for_smtp(port: int, process: subprocess.Popen[bytes], within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("the SMTP server did not start in time")


def _start_server(env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "threadline.entrypoints.api.app:create_app"]
    command += ["--factory", "--host", "127.0.0.1", "--port", str(_free_port())]
    command += ["--no-access-log", "--log-level", "warning"]
    return subprocess.Popen(command, env=env)


async def measure_inbound_email(
    database_url: str, count: int, concurrency: int, customers: int
) -> EmailRun:
    address = await prepare_email_inbox(database_url)
    smtp_port = _free_port()
    files = tempfile.TemporaryDirectory(prefix="threadline-bench-mail-")
    env = {
        **os.environ,
        "THREADLINE_DATABASE_URL": database_url,
        "THREADLINE_REDIS_URL": "",
        "THREADLINE_RUN_OUTBOUND_WORKER": "false",
        "THREADLINE_SECRET_KEY": uuid.uuid4().hex * 2,
        "THREADLINE_LOG_LEVEL": "WARNING",
        "THREADLINE_SMTP_ENABLED": "true",
        "THREADLINE_SMTP_HOST": "127.0.0.1",
        "THREADLINE_SMTP_PORT": str(smtp_port),
        "THREADLINE_ATTACHMENTS_DIR": files.name,
        "THREADLINE_IMAP_POLL_ENABLED": "false",
    }
    process = _start_server(env)
    try:
        await _wait_for_smtp(smtp_port, process, 30.0)
        rng = random.Random(11)
        pending = iter([customer_mail(n, customers, rng, address) for n in range(count)])
        latencies: list[float] = []
        failures = 0

        async def sender() -> None:
            nonlocal failures
            # One connection per sender, several mails per connection, as an MTA would.
            async with aiosmtplib.SMTP(
                hostname="127.0.0.1", port=smtp_port, start_tls=False, timeout=60
            ) as client:
                for raw in pending:
                    began = time.perf_counter()
                    try:
                        await client.sendmail("bounce@example.net", [address], raw)
                    except aiosmtplib.SMTPException:
                        failures += 1
                    latencies.append(time.perf_counter() - began)

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        return EmailRun(count, elapsed, latencies, failures)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        files.cleanup()
