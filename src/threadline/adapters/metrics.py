"""Prometheus metrics: every metric Threadline exports, defined once, in a registry of our own.

Counters and the WebSocket gauges live in the process that serves them; each API or worker
process is its own scrape target (no multiprocess mode). The database-derived gauges (jobs by
state, queue depth, worker lag) are set by GET /metrics right before rendering, from one read
of the database; they describe the whole installation and read the same on every process.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
)
from prometheus_client.exposition import choose_encoder
from sqlalchemy.pool import Pool

from threadline import __version__
from threadline.domain.channels import Channel

# No `_created` twin for every counter series: it doubles the output and no dashboard uses it.
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry()
# The standard process, platform and garbage-collector metrics, in our registry too.
for _standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.register(_standard)

BUILD = Info("threadline", "The running Threadline release.", registry=REGISTRY)
BUILD.info({"version": __version__})

HTTP_REQUESTS = Counter(
    "threadline_http_requests",
    "HTTP requests answered, by method, route template (never the raw path) and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "threadline_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
    registry=REGISTRY,
)
INBOUND_MESSAGES = Counter(
    "threadline_inbound_messages",
    "Customer messages stored by receive_message (duplicates not counted), by channel.",
    ["channel"],
    registry=REGISTRY,
)
for _channel in Channel:
    INBOUND_MESSAGES.labels(channel=_channel.value)  # shown as 0 before the first one

AGENT_EVENTS_SOCKET = "agent_events"
WIDGET_VISITOR_SOCKET = "widget_visitor"
WEBSOCKET_CONNECTIONS = Gauge(
    "threadline_websocket_connections",
    "Open, authenticated WebSockets on this process: agents' event streams, web-chat visitors.",
    ["socket"],
    registry=REGISTRY,
)
for _socket in (AGENT_EVENTS_SOCKET, WIDGET_VISITOR_SOCKET):
    WEBSOCKET_CONNECTIONS.labels(socket=_socket)

OUTBOUND_JOBS = Gauge(
    "threadline_outbound_jobs",
    "Outbound jobs in the database, by state (read at scrape time).",
    ["state"],
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "threadline_queue_depth",
    "Open, unassigned conversations a customer wrote in, by the channel they last wrote on.",
    ["channel"],
    registry=REGISTRY,
)
WORKER_LAG = Gauge(
    "threadline_worker_lag_seconds",
    "How long the oldest due, unfinished job has been due (0 when none), by queue.",
    ["queue"],
    registry=REGISTRY,
)
DATABASE_UP = Gauge(
    "threadline_database_up",
    "1 when this scrape read the database-derived gauges, 0 when the database did not answer.",
    registry=REGISTRY,
)
DB_POOL_SIZE = Gauge(
    "threadline_db_pool_size",
    "Connections the database pool of this process keeps (beyond it: overflow, if allowed).",
    registry=REGISTRY,
)
DB_POOL_CHECKED_OUT = Gauge(
    "threadline_db_pool_checked_out",
    "Database connections of this process in use right now.",
    registry=REGISTRY,
)

# Label values each gauge has shown: one that disappears from the database reads 0, rather
# than keeping its last value or vanishing from the series.
_shown: dict[Gauge, set[str]] = {}


def set_by_label(gauge: Gauge, values: Mapping[str, float]) -> None:
    """Set a one-label gauge from `values`; label values shown before and missing now are 0."""
    shown = _shown.setdefault(gauge, set())
    shown.update(values)
    for label in shown:
        gauge.labels(label).set(values.get(label, 0))


def record_pool(pool: Pool) -> None:
    """Size and use of a SQLAlchemy connection pool (queue pools; others report nothing)."""
    size = getattr(pool, "size", None)
    checked_out = getattr(pool, "checkedout", None)
    if callable(size) and callable(checked_out):
        DB_POOL_SIZE.set(size())
        DB_POOL_CHECKED_OUT.set(checked_out())


def render(accept: str | None) -> tuple[bytes, str]:
    """The registry in the format the scraper asked for (Prometheus text or OpenMetrics)."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(REGISTRY), content_type
