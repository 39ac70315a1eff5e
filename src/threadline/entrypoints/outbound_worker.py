"""The outbound worker: sends queued replies through their channel adapters.

Runs inside the API process in the embedded mode (see entrypoints/api/app.py) or on its
own (`threadline worker`, `python -m threadline.entrypoints.outbound_worker`); any number
of them may run against one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import timedelta

import httpx
import structlog

from threadline.adapters.channels.base import OutboundAdapters
from threadline.bootstrap import Runtime, build_runtime
from threadline.config import Settings
from threadline.delivery import DeliveryPolicy, DeliveryReport, deliver_due
from threadline.entrypoints.logging_setup import configure_logging
from threadline.integrations.senders import build_outbound_adapters

log = structlog.get_logger(__name__)

POLL_INTERVAL_SECONDS = 1.0
ERROR_PAUSE_SECONDS = 5.0


def delivery_policy(settings: Settings) -> DeliveryPolicy:
    return DeliveryPolicy(
        lease=timedelta(seconds=settings.outbound_lease_seconds),
        max_attempts=settings.outbound_max_attempts,
        backoff_seconds=settings.outbound_backoff_seconds,
        report_wait=timedelta(seconds=settings.outbound_report_wait_seconds),
    )


async def deliver_once(runtime: Runtime, adapters: OutboundAdapters) -> DeliveryReport:
    return await deliver_due(
        runtime.uow, adapters, delivery_policy(runtime.settings), runtime.clock.now()
    )


async def run_outbound_worker(
    runtime: Runtime, *, poll_interval: float = POLL_INTERVAL_SECONDS
) -> None:
    settings = runtime.settings
    if settings.outbound_timeout_seconds >= settings.outbound_lease_seconds:
        # A send outliving its lease is taken for interrupted by another worker, which then
        # looks it up or holds it (or, on the API channel, repeats it under the same
        # Idempotency-Key): wasted work and a needless wait. Keep the timeout under the lease.
        log.warning(
            "outbound.lease_shorter_than_timeout",
            lease_seconds=settings.outbound_lease_seconds,
            timeout_seconds=settings.outbound_timeout_seconds,
        )
    log.info("outbound.worker_started", lease_seconds=settings.outbound_lease_seconds)
    async with httpx.AsyncClient(timeout=settings.outbound_timeout_seconds) as client:
        adapters = build_outbound_adapters(settings, client)
        while True:
            # Cleared before looking, so a reply queued during this round wakes the next one.
            runtime.outbound_wakeup.clear()
            try:
                report = await deliver_once(runtime, adapters)
            except Exception:
                log.exception("outbound.round_failed")
                await asyncio.sleep(ERROR_PAUSE_SECONDS)
                continue
            if report.claimed:
                log.info(
                    "outbound.round",
                    claimed=report.claimed,
                    sent=report.sent,
                    retrying=report.retrying,
                    failed=report.failed,
                    unconfirmed=report.unconfirmed,
                    adopted=report.adopted,
                    overtaken=report.overtaken,
                )
            if report.claimed >= delivery_policy(settings).batch_size:
                continue  # more may be waiting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(runtime.outbound_wakeup.wait(), poll_interval)


async def _serve(settings: Settings) -> None:
    runtime = build_runtime(settings)
    worker = asyncio.create_task(run_outbound_worker(runtime))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, worker.cancel)
    try:
        await worker
    except asyncio.CancelledError:
        log.info("outbound.worker_stopped")
    finally:
        await runtime.close()


def main(settings: Settings | None = None) -> None:
    """Run one outbound worker until SIGTERM or Ctrl-C.

    Settings are read afresh, so THREADLINE_* variables set by a launcher just before
    (the CLI's --database-url) are honoured even if settings were cached earlier.
    """
    settings = settings or Settings()
    configure_logging(settings)
    asyncio.run(_serve(settings))


if __name__ == "__main__":
    main()
