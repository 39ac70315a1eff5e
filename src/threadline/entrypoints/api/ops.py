"""Operations routes: liveness (/healthz), readiness (/readyz) and Prometheus metrics (/metrics).

See docs/operations.md for what each answers and how to use it.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any, Literal

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from threadline.adapters import metrics
from threadline.adapters.readiness import Check, check_database, check_redis
from threadline.bootstrap import Runtime
from threadline.core.operations import work_levels
from threadline.entrypoints.api.deps import RuntimeDep
from threadline.entrypoints.api.problems import PROBLEM_JSON, problem

log = structlog.get_logger(__name__)

router = APIRouter(tags=["operations"])

# A readiness probe must answer well within a load balancer's own timeout (often 5 s).
READINESS_TIMEOUT_SECONDS = 2.0
# A scrape still answers (with the process's own metrics) when the database is slow.
METRICS_DATABASE_TIMEOUT_SECONDS = 2.0


class Liveness(BaseModel):
    status: Literal["ok"]


class ReadinessCheck(BaseModel):
    name: str
    ok: bool
    reason: str | None = None


class Readiness(BaseModel):
    status: Literal["ready"]
    checks: list[ReadinessCheck]


class NotReady(BaseModel):
    """RFC 9457 problem details, with every check and the reason of each that failed."""

    type: str
    title: str
    status: int
    detail: str
    checks: list[ReadinessCheck]


# Inline, referring to ReadinessCheck where the 200 answer puts it: FastAPI documents a
# response `model` only under application/json, and this one is application/problem+json.
_NOT_READY_SCHEMA = NotReady.model_json_schema(ref_template="#/components/schemas/{model}")
_NOT_READY_SCHEMA.pop("$defs", None)


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> Liveness:
    """Always 200 while the process can answer at all; it checks nothing else (a restart is
    the cure for a process that stops answering, not for a database that is down)."""
    return Liveness(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: the database, its schema and Redis",
    response_model=Readiness,
    responses={
        503: {
            "description": "Not ready: the checks, each failed one with its reason.",
            "content": {PROBLEM_JSON: {"schema": _NOT_READY_SCHEMA}},
        }
    },
)
async def readyz(runtime: RuntimeDep) -> Any:
    """200 when this process can serve: the database answers within 2 s, its schema is at
    every head of this release's migrations, and Redis answers when `THREADLINE_REDIS_URL`
    is set. Otherwise 503 (`application/problem+json`) with a reason per failed check."""
    checks = await _readiness_checks(runtime)
    shown = [ReadinessCheck(name=c.name, ok=c.ok, reason=c.reason) for c in checks]
    failed = [c for c in checks if not c.ok]
    if not failed:
        return Readiness(status="ready", checks=shown)
    detail = "; ".join(f"{c.name}: {c.reason}" for c in failed)
    return problem(503, "Not ready", detail, checks=[c.model_dump() for c in shown])


async def _readiness_checks(runtime: Runtime) -> list[Check]:
    database = check_database(runtime.engine, READINESS_TIMEOUT_SECONDS)
    if not runtime.settings.redis_url:
        return await database
    redis = check_redis(runtime.settings.redis_url, READINESS_TIMEOUT_SECONDS)
    database_checks, redis_check = await asyncio.gather(database, redis)
    return [*database_checks, redis_check]


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Prometheus text format (OpenMetrics when the scraper asks for it); documented in
    docs/operations.md rather than in the OpenAPI, which describes JSON."""
    token = runtime.settings.metrics_token
    if token and not _bearer_matches(request.headers.get("authorization", ""), token):
        refused: JSONResponse = problem(
            401,
            "Authentication required",
            "send the installation's metrics token: Authorization: Bearer <token>",
        )
        refused.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refused
    await _read_work_levels(runtime)
    metrics.record_pool(runtime.engine.pool)
    body, content_type = metrics.render(request.headers.get("accept"))
    return Response(body, media_type=content_type)


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, credential = header.partition(" ")
    # Compared as bytes: any character a client sends is then just a mismatch.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credential.strip().encode(), token.encode()
    )


async def _read_work_levels(runtime: Runtime) -> None:
    try:
        async with (
            asyncio.timeout(METRICS_DATABASE_TIMEOUT_SECONDS),
            runtime.sessionmaker() as session,
        ):
            levels = await work_levels(session, runtime.clock.now())
    except Exception as exc:
        log.warning("metrics.database_unavailable", error_type=type(exc).__name__)
        metrics.DATABASE_UP.set(0)
        return
    metrics.DATABASE_UP.set(1)
    metrics.set_by_label(metrics.OUTBOUND_JOBS, levels.outbound_jobs)
    metrics.set_by_label(metrics.QUEUE_DEPTH, levels.waiting_conversations)
    metrics.set_by_label(
        metrics.WORKER_LAG,
        {"outbound": levels.outbound_lag_seconds, "timers": levels.timer_lag_seconds},
    )
