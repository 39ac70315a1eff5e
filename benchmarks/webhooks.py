"""Webhook throughput through real HTTP: inbound SMS webhooks per second (Twilio format, with
the X-Twilio-Signature check) on PostgreSQL; inbound emails per second through SMTP.

    .venv/bin/python benchmarks/webhooks.py [--sms 2000] [--concurrency 16] [--workers 1]

A throw-away PostgreSQL database is created on --pg-dsn and dropped afterwards; the API runs
as a real uvicorn process on a free port of 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import psycopg

from benchmarks.table import print_table
from threadline.adapters.db.migrate import upgrade_to_head
from threadline.bootstrap import build_runtime
from threadline.config import Settings
from threadline.domain.channels import Channel
from threadline.entrypoints.logging_setup import configure_logging
from threadline.integrations.twilio.signature import compute_signature
from threadline.workspace.create import create_inbox, create_workspace

AUTH_TOKEN = "bench-twilio-auth-token"
ACCOUNT_SID = "AC" + "0" * 32
OUR_NUMBER = "+15017122661"


@dataclass(frozen=True)
class Result:
    name: str
    count: int
    seconds: float
    latencies: list[float]
    failures: int

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies) or [0.0]
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def create_postgres_database(admin_dsn: str) -> tuple[str, str]:
    name = f"threadline_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{admin_dsn.rsplit('/', 1)[0]}/{name}".replace(
        "postgresql://", "postgresql+psycopg://", 1
    )
    return name, url


def drop_postgres_database(admin_dsn: str, name: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def prepare_sms_inbox(database_url: str) -> int:
    runtime = build_runtime(Settings(database_url=database_url, run_outbound_worker=False))
    try:
        async with runtime.uow() as uow:
            workspace = await create_workspace(
                uow, name="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}", default_region="PL"
            )
            inbox = await create_inbox(
                uow,
                workspace.id,
                name="sms",
                channel=Channel.SMS,
                secret=AUTH_TOKEN,
                settings={"account_sid": ACCOUNT_SID, "from_number": OUR_NUMBER},
            )
            await uow.commit()
            return inbox.id
    finally:
        await runtime.close()


class ApiServer:
    """`uvicorn threadline.entrypoints.api.app:create_app --factory` in its own process."""

    def __init__(self, database_url: str, workers: int = 1, secret_key: str | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "THREADLINE_DATABASE_URL": database_url,
            "THREADLINE_REDIS_URL": "",
            "THREADLINE_RUN_OUTBOUND_WORKER": "false",
            "THREADLINE_PUBLIC_BASE_URL": self.base_url,
            # A benchmark that signs tokens itself passes the key; otherwise any will do.
            "THREADLINE_SECRET_KEY": secret_key or uuid.uuid4().hex * 2,
            "THREADLINE_LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, "-m", "uvicorn", "threadline.entrypoints.api.app:create_app"]
        command += ["--factory", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--workers", str(workers), "--no-access-log", "--log-level", "warning"]
        self.process = subprocess.Popen(command, env=env)

    async def wait_ready(self, within_seconds: float = 30.0) -> None:
        deadline = time.monotonic() + within_seconds
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError("the API server exited during start-up")
                try:
                    if (await client.get(f"{self.base_url}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("the API server did not start in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def sms_form(number: int, customers: int, rng: random.Random) -> list[tuple[str, str]]:
    """One inbound SMS as Twilio posts it; a pool of customers so most messages join."""
    who = rng.randrange(customers)
    sid = f"SM{uuid.uuid4().hex}"
    return [
        ("ToCountry", "US"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("Body", f"Message {number}: is my order on its way?"),
        ("To", OUR_NUMBER),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", f"+4860{who % 10}{who // 10 % 1000:03d}{who // 10000 % 1000:03d}"),
        ("ApiVersion", "2010-04-01"),
    ]


async def measure_inbound_sms(
    base_url: str, inbox_id: int, count: int, concurrency: int, customers: int
) -> Result:
    path = f"/webhooks/twilio/{inbox_id}/sms"
    url = base_url + path
    rng = random.Random(7)
    # Signed up front, as Twilio would, so the client's own work does not slow the server.
    requests = []
    for number in range(count):
        pairs = sms_form(number, customers, rng)
        requests.append((urlencode(pairs), compute_signature(AUTH_TOKEN, url, pairs)))
    pending = iter(requests)
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

        async def sender() -> None:
            nonlocal failures
            for body, signature in pending:
                began = time.perf_counter()
                response = await client.post(
                    path,
                    content=body,
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "X-Twilio-Signature": signature,
                    },
                )
                latencies.append(time.perf_counter() - began)
                if response.status_code != 200:
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Result("inbound SMS (HTTP, signed)", count, elapsed, latencies, failures)


async def measure_inbound_email(
    database_url: str, count: int, concurrency: int = 8, customers: int = 500
) -> Result | None:
    """Inbound emails per second through the SMTP server `threadline serve` starts."""
    try:
        from benchmarks.inbound_email import measure_inbound_email as measure_smtp
    except ModuleNotFoundError:  # run as a script: benchmarks/ itself is on sys.path
        from inbound_email import measure_inbound_email as measure_smtp  # type: ignore[no-redef]

    run = await measure_smtp(database_url, count, concurrency, customers)
    return Result("inbound email (SMTP)", run.count, run.seconds, run.latencies, run.failures)


RESULT_COLUMNS = [
    ("what", "<30"),
    ("count", ">8"),
    ("seconds", ">9.1f"),
    ("per s", ">8.0f"),
    ("p50 ms", ">8.1f"),
    ("p95 ms", ">8.1f"),
    ("failed", ">8"),
]


def print_results(results: list[Result]) -> None:
    print_table(
        RESULT_COLUMNS,
        (
            (r.name, r.count, r.seconds, r.rate, r.percentile(0.5), r.percentile(0.95), r.failures)
            for r in results
        ),
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sms", type=int, default=2000, help="inbound SMS webhooks to send")
    parser.add_argument("--emails", type=int, default=500, help="inbound emails to send")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--customers", type=int, default=500, help="distinct senders")
    parser.add_argument("--pg-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()

    name, database_url = create_postgres_database(args.pg_dsn)
    results: list[Result] = []
    try:
        upgrade_to_head(database_url)
        inbox_id = await prepare_sms_inbox(database_url)
        server = ApiServer(database_url, args.workers)
        try:
            await server.wait_ready()
            results.append(
                await measure_inbound_sms(
                    server.base_url, inbox_id, args.sms, args.concurrency, args.customers
                )
            )
        finally:
            server.stop()
        email = await measure_inbound_email(
            database_url, args.emails, args.concurrency, args.customers
        )
        if email is not None:
            results.append(email)
    finally:
        drop_postgres_database(args.pg_dsn, name)
    print_results(results)
    if not any(r.name.startswith("inbound email") for r in results):
        print("inbound email (SMTP): not measured yet (see measure_inbound_email)")


if __name__ == "__main__":
    # Our log lines at warning and above only: structlog unconfigured prints every one.
    configure_logging(Settings(log_level="WARNING", secret_key="benchmarks-only"))
    asyncio.run(main())
