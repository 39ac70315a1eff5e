"""The IMAP poller as a worker: `threadline worker` runs it beside the outbound and timer
workers; `python -m threadline.entrypoints.imap_worker` runs it alone.

It needs no coordination with them: every step is safe to repeat (see
integrations/email/imap_poller.py), so it may be stopped, even killed, at any moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading

import structlog

from threadline.bootstrap import build_runtime
from threadline.config import Settings
from threadline.entrypoints.logging_setup import configure_logging
from threadline.integrations.email.imap_poller import run_imap_poller

log = structlog.get_logger(__name__)


async def _serve(settings: Settings, *, handle_signals: bool) -> None:
    runtime = build_runtime(settings)
    poller = asyncio.create_task(run_imap_poller(runtime))
    if handle_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, poller.cancel)
    try:
        await poller
    except asyncio.CancelledError:
        log.info("imap.poller_stopped")
    finally:
        await runtime.close()


def start_in_background(settings: Settings) -> threading.Thread:
    """Poll in a daemon thread with its own event loop and runtime; it ends with the process."""
    thread = threading.Thread(
        target=lambda: asyncio.run(_serve(settings, handle_signals=False)),
        name="imap-poller",
        daemon=True,
    )
    thread.start()
    return thread


def main(settings: Settings | None = None) -> None:
    settings = settings or Settings()
    configure_logging(settings)
    asyncio.run(_serve(settings, handle_signals=True))


if __name__ == "__main__":
    main()
