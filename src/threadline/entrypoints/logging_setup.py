"""Logging for every process (API, workers, CLI): structlog, as text or one JSON object a line.

Everything goes through one handler on the root logger of the standard library, so the lines
of other libraries (uvicorn's warnings, Alembic) come out in the same format as ours, with the
same context (the request id bound by entrypoints/api/request_context.py). Secrets are never
passed to the logger.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from threadline.config import Settings

_configured = False
_CHATTY_AT_DEBUG = ("aiosqlite", "asyncio", "httpcore", "hpack", "websockets", "multipart")


class _StandardErrorHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a line is logged: test runners and daemons
    swap or close the stream the process started with, which must not break logging."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _renderer(log_format: str) -> Any:
    if log_format == "json":
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(colors=False)


def configure_logging(settings: Settings) -> None:
    """Once per process; `THREADLINE_LOG_LEVEL` and `THREADLINE_LOG_FORMAT` (text or json)."""
    global _configured
    if _configured:
        return
    level = logging.getLevelName(settings.log_level.upper())
    if not isinstance(level, int):
        level = logging.INFO
    # Applied to our lines and to other libraries' records alike, before rendering.
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _renderer(settings.log_format),
        ],
    )
    handler = _StandardErrorHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic narrates every plugin it loads; the CLI reports the outcome itself.
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
    # DEBUG is for our own lines: these narrate every query and every frame they handle.
    for chatty in _CHATTY_AT_DEBUG:
        logging.getLogger(chatty).setLevel(max(level, logging.INFO))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.stdlib.LoggerFactory(),
        # Not cached: a logger cached on first use keeps the level it was made with for
        # good, so a process (or a test) that configures again would be ignored by it. The
        # cost is one small object per line written.
        cache_logger_on_first_use=False,
    )
    _configured = True
