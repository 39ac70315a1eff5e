"""The FastAPI application: routers, problem details, body limits, start-up and shut-down."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from threadline import __version__
from threadline.bootstrap import Runtime, build_runtime
from threadline.config import Settings, get_settings
from threadline.entrypoints.api.body_limit import BodySizeLimit
from threadline.entrypoints.api.problems import install_problem_handlers

# Each module under routers/ exposes `router`; listed here so the order in the docs is stable.
ROUTER_MODULES = [
    "auth",
    "inbound",
    "customers",
    "conversations",
    "messages",
    "notes",
    "offers",
    "tasks",
    "agents",
    "teams",
    "inboxes",
    "api_keys",
    "merges",
    "events",
]


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """With `runtime` given (tests, embedding) the caller owns its life cycle."""
    settings = settings or (runtime.settings if runtime else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:
            app.state.runtime = runtime
            yield
            return
        owned = build_runtime(settings)
        app.state.runtime = owned
        workers = await start_background_workers(owned)
        try:
            yield
        finally:
            for worker in workers:
                worker.cancel()
            await owned.close()

    app = FastAPI(
        title="Threadline API",
        version=__version__,
        description="One customer, one conversation, every channel.",
        lifespan=lifespan,
    )
    if runtime is not None:
        app.state.runtime = runtime
    install_problem_handlers(app)
    for name in ROUTER_MODULES:
        try:
            module = importlib.import_module(f"threadline.entrypoints.api.routers.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"threadline.entrypoints.api.routers.{name}":
                raise
            continue
        app.include_router(module.router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app


async def start_background_workers(runtime: Runtime) -> list[asyncio.Task[None]]:
    """Workers that run inside the API process in the embedded mode."""
    tasks: list[asyncio.Task[None]] = []
    if runtime.settings.run_outbound_worker:
        try:
            from threadline.entrypoints.outbound_worker import run_outbound_worker
        except ModuleNotFoundError:
            return tasks
        tasks.append(asyncio.create_task(run_outbound_worker(runtime)))
    return tasks
