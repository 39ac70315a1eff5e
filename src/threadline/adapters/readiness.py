"""Readiness checks (GET /readyz): can this process do its work right now?

Each check answers within a short timeout and says why not in words an operator can act on.
Reasons never carry a URL or a driver's message (they could name hosts or users); the details
go to the log.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import redis.asyncio as aioredis
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from threadline.adapters.db.schema_version import applied_revisions, schema_problem

log = structlog.get_logger(__name__)

DATABASE = "database"
MIGRATIONS = "migrations"
REDIS = "redis"
NOT_CHECKED = "not checked: the database did not answer"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    reason: str | None = None


async def check_database(engine: AsyncEngine, within: float) -> list[Check]:
    """The database answers, and its schema is at every head of our migrations."""
    answered = False
    try:
        async with asyncio.timeout(within), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            answered = True
            problem = schema_problem(await applied_revisions(connection))
    except Exception as exc:
        if isinstance(exc, TimeoutError):
            reason = f"the database did not answer within {within:g} s"
        else:
            log.warning("readiness.database_failed", error=str(exc), error_type=type(exc).__name__)
            reason = _failed("reading the schema version" if answered else "the database", exc)
        if answered:
            return [Check(DATABASE, True), Check(MIGRATIONS, False, reason)]
        return [Check(DATABASE, False, reason), Check(MIGRATIONS, False, NOT_CHECKED)]
    return [Check(DATABASE, True), Check(MIGRATIONS, problem is None, problem)]


async def check_redis(url: str, within: float) -> Check:
    """Redis (the pub/sub between API processes) answers a PING."""
    client = aioredis.from_url(url, socket_connect_timeout=within, socket_timeout=within)
    try:
        async with asyncio.timeout(within):
            await client.ping()
    except TimeoutError:
        return Check(REDIS, False, f"Redis did not answer within {within:g} s")
    except Exception as exc:
        log.warning("readiness.redis_failed", error=str(exc), error_type=type(exc).__name__)
        return Check(REDIS, False, _failed("Redis", exc))
    finally:
        await client.aclose()
    return Check(REDIS, True)


def _failed(what: str, exc: Exception) -> str:
    return f"{what} failed ({type(exc).__name__}); the log has the details"
