"""The FastAPI application: routers, problem details, body limits, start-up and shut-down."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from threadline import __version__
from threadline.bootstrap import Runtime, build_runtime, freeze_startup_objects
from threadline.config import Settings, get_settings
from threadline.entrypoints.api import ops
from threadline.entrypoints.api.body_limit import BodySizeLimit
from threadline.entrypoints.api.docs_pages import install_docs_pages
from threadline.entrypoints.api.openapi import install_openapi
from threadline.entrypoints.api.problems import install_problem_handlers
from threadline.entrypoints.api.request_context import RequestContext
from threadline.entrypoints.web.vendor import install_vendor_assets
from threadline.integrations import WEBHOOK_MODULES
from threadline.workspace import FAST_HASHING, FAST_HASHING_VARIABLE

# Each module under entrypoints/api/routers/ (one sub-package per capability), web/ and
# widget/, and each integration's webhook (threadline.integrations.WEBHOOK_MODULES), exposes
# `router`.
# These come first so the API docs open with them; the rest follow by name.
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


def discover_router_modules() -> list[str]:
    """The API's routers, then the providers' webhooks, then the agent pages and the widget:
    the order the API docs list them in. Adding an endpoint module is adding a file."""
    return [
        *_modules_in("threadline.entrypoints.api.routers"),
        *WEBHOOK_MODULES,
        *_modules_in("threadline.entrypoints.web"),
        *_modules_in("threadline.entrypoints.widget"),
    ]


def _modules_in(package_name: str) -> list[str]:
    """The modules of `package_name` and its sub-packages (the API's routers are grouped by
    capability) that expose a `router`, ordered by their own name: ROUTER_MODULES first, then
    the rest. A sub-package may be a router itself: `/conversations` is the package whose
    modules are its parts (messages, notes, attachments, reply options, wrap-up)."""
    package = importlib.import_module(package_name)
    found = {
        info.name.rpartition(".")[2]: info.name
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}.")
        if not info.name.rpartition(".")[2].startswith("_")
        and hasattr(importlib.import_module(info.name), "router")
    }
    names = sorted(found)
    names.sort(key=lambda n: ROUTER_MODULES.index(n) if n in ROUTER_MODULES else 999)
    return [found[n] for n in names]


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
        freeze_startup_objects()
        if FAST_HASHING:
            structlog.get_logger(__name__).warning(
                "auth.insecure_fast_password_hashing", variable=FAST_HASHING_VARIABLE
            )
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
        # Served from our own copies of the assets, so they work without internet.
        docs_url=None,
        redoc_url=None,
    )
    if runtime is not None:
        app.state.runtime = runtime
    install_problem_handlers(app)
    install_docs_pages(app)
    install_openapi(app)
    for module_name in discover_router_modules():
        app.include_router(importlib.import_module(module_name).router)

    app.mount("/app/static", StaticFiles(packages=[("threadline.entrypoints.web", "static")]))
    install_vendor_assets(app)

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        # The agent workspace is the front door; it sends visitors without a session to sign in.
        return RedirectResponse("/app")

    app.include_router(ops.router)  # /healthz, /readyz, /metrics

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # Outermost: a request id and an access line even for what the inner layers refuse.
    app.add_middleware(RequestContext)
    return app


async def start_background_workers(runtime: Runtime) -> list[asyncio.Task[None]]:
    """Workers that run inside the API process in the embedded mode."""
    tasks: list[asyncio.Task[None]] = []
    if runtime.settings.smtp_enabled:
        # Inbound mail for email inboxes (MX or forwarding target), on this event loop.
        from threadline.entrypoints.smtp_server import run_smtp_server

        tasks.append(asyncio.create_task(run_smtp_server(runtime)))
    if runtime.settings.run_outbound_worker:
        try:
            from threadline.entrypoints.outbound_worker import run_outbound_worker
        except ModuleNotFoundError:
            return tasks
        tasks.append(asyncio.create_task(run_outbound_worker(runtime)))
        # The same switch: in-process background work (SLA timers, follow-ups) rides along.
        from threadline.entrypoints.timer_worker import run_timer_worker

        tasks.append(asyncio.create_task(run_timer_worker(runtime)))
        if runtime.settings.imap_poll_enabled:
            # Email inboxes with an IMAP mailbox configured (the loop idles while none is).
            from threadline.integrations.email.imap_poller import run_imap_poller

            tasks.append(asyncio.create_task(run_imap_poller(runtime)))
    return tasks
