"""The timer worker: fires due durable timers (SLA warnings and breaches, follow-ups, ...),
and on start serves routing fill requests left over by a stopped process.

Runs inside the API process in the embedded mode (see entrypoints/api/app.py) and beside the
outbound worker in `threadline worker`, or on its own
(`python -m threadline.entrypoints.timer_worker`); any number may run against one database,
each timer still fires exactly once (see core/timers.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import structlog

from threadline.bootstrap import Runtime, build_runtime, freeze_startup_objects
from threadline.config import Settings
from threadline.core.timers import DEFAULT_LEASE_SECONDS, fire_due_timers
from threadline.entrypoints.logging_setup import configure_logging
from threadline.routing import fill_left_over

log = structlog.get_logger(__name__)

POLL_INTERVAL_SECONDS = 1.0
ERROR_PAUSE_SECONDS = 5.0
BATCH_SIZE = 100


def timer_wakeup(runtime: Runtime) -> asyncio.Event:
    """An event that, when set, makes the worker look for due timers at once."""
    event = getattr(runtime, "timer_wakeup", None)
    if not isinstance(event, asyncio.Event):
        event = asyncio.Event()
        # Runtime is a plain dataclass; the attribute lives beside the outbound wake-up.
        runtime.timer_wakeup = event  # type: ignore[attr-defined]
    return event


async def run_timer_worker(
    runtime: Runtime, *, poll_interval: float = POLL_INTERVAL_SECONDS
) -> None:
    wakeup = timer_wakeup(runtime)
    log.info("timers.worker_started")
    try:
        # Fill requests whose pass never ran (their process stopped right after the commit).
        await fill_left_over(runtime.uow)
    except Exception:
        log.exception("routing.left_over_fill_failed")
    while True:
        wakeup.clear()
        try:
            fired = await fire_due_timers(
                runtime.uow,
                runtime.clock.now(),
                batch=BATCH_SIZE,
                lease_seconds=DEFAULT_LEASE_SECONDS,
            )
        except Exception:
            log.exception("timers.round_failed")
            await asyncio.sleep(ERROR_PAUSE_SECONDS)
            continue
        if fired >= BATCH_SIZE:
            continue  # more may be due
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wakeup.wait(), poll_interval)


async def _serve(settings: Settings, *, with_outbound: bool) -> None:
    runtime = build_runtime(settings)
    freeze_startup_objects()
    workers = [asyncio.create_task(run_timer_worker(runtime))]
    if with_outbound:
        from threadline.entrypoints.outbound_worker import run_outbound_worker

        workers.append(asyncio.create_task(run_outbound_worker(runtime)))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, lambda: [worker.cancel() for worker in workers])
    try:
        await asyncio.gather(*workers)
    except asyncio.CancelledError:
        log.info("timers.worker_stopped")
    finally:
        for worker in workers:
            worker.cancel()
        await runtime.close()


def main(settings: Settings | None = None, *, with_outbound: bool = False) -> None:
    """Run one timer worker (and, for `threadline worker`, an outbound worker beside it on
    the same runtime) until SIGTERM or Ctrl-C. Settings are read afresh from THREADLINE_*."""
    settings = settings or Settings()
    configure_logging(settings)
    asyncio.run(_serve(settings, with_outbound=with_outbound))


if __name__ == "__main__":
    main()
