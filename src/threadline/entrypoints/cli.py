"""The `threadline` command: migrate, seed, create an admin, serve, run the worker, demo."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from threadline.config import Settings
from threadline.entrypoints.cli_email_domains import email_domain_app
from threadline.entrypoints.cli_settings import (
    DatabaseUrlOption,
    console,
    fail,
    load_settings,
    require_schema,
    shown_url,
)

app = typer.Typer(
    help="Threadline: one customer, one conversation, every channel.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(email_domain_app, name="email-domain")

HostOption = Annotated[str, typer.Option(help="Interface to listen on.")]
PortOption = Annotated[int, typer.Option(help="TCP port to listen on.")]
# The demo's default size: a fresh clone reaches the printed URL within a minute on two
# cores (about 25 s of seeding through the real use-cases); --conversations builds more.
DEMO_CUSTOMERS = 100
DEMO_CONVERSATIONS = 300
CustomersOption = Annotated[int, typer.Option(min=1, help="How many demo customers.")]
ConversationsOption = Annotated[int, typer.Option(min=1, help="How many demo conversations.")]


@app.command()
def migrate(database_url: DatabaseUrlOption = None) -> None:
    """Create or upgrade the database schema to the latest version."""
    settings = load_settings(database_url)
    _migrate(settings)


def _migrate(settings: Settings) -> None:
    from threadline.adapters.db.migrate import upgrade_to_head

    with console.status(f"Migrating {shown_url(settings.database_url)} …"):
        upgrade_to_head(settings.database_url)
    console.print(f"[green]Database is up to date:[/green] {shown_url(settings.database_url)}")


@app.command()
def seed(
    database_url: DatabaseUrlOption = None,
    customers: CustomersOption = DEMO_CUSTOMERS,
    conversations: ConversationsOption = DEMO_CONVERSATIONS,
) -> None:
    """Create the demo workspace with a month of realistic traffic (skips if it exists)."""
    settings = load_settings(database_url)
    require_schema(settings)
    seeded = _seed_if_missing(settings, customers, conversations)
    if not seeded:
        console.print("The demo workspace exists already; nothing to do.")


def _seed_if_missing(settings: Settings, customers: int, conversations: int) -> bool:
    from threadline.seed import DEMO_SLUG, SeedProgress, SeedSize

    size = SeedSize(customers=customers, conversations=conversations)
    with Progress(
        TextColumn("[bold]Seeding the demo workspace"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "steps · {task.fields[conversations]} conversations, {task.fields[messages]} messages"
        ),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("seed", total=None, conversations=0, messages=0)

        def on_progress(done: SeedProgress) -> None:
            progress.update(
                task,
                completed=done.steps_done,
                total=done.steps_total,
                conversations=done.conversations,
                messages=done.messages,
            )

        result = asyncio.run(_seed(settings, size, on_progress))
    if result is None:
        return False
    console.print(
        f"[green]Seeded workspace {DEMO_SLUG!r}:[/green] {result.agents} agents, "
        f"{result.customers} customers, {result.conversations} conversations, "
        f"{result.messages} messages in {result.seconds:.1f} s"
    )
    return True


async def _seed(settings: Settings, size: Any, on_progress: Callable[[Any], None]) -> Any | None:
    from threadline.adapters.db.engine import create_engine, create_sessionmaker
    from threadline.seed import demo_workspace_exists, seed_demo

    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    try:
        sessionmaker = create_sessionmaker(engine)
        if await demo_workspace_exists(sessionmaker):
            return None
        return await seed_demo(sessionmaker, size=size, on_progress=on_progress)
    finally:
        await engine.dispose()


@app.command("create-admin")
def create_admin(
    workspace: Annotated[str, typer.Option(help="The workspace slug.")],
    email: Annotated[str, typer.Option(help="The admin's sign-in email.")],
    name: Annotated[str, typer.Option(help="The admin's name as customers and agents see it.")],
    password: Annotated[
        str | None,
        typer.Option(help="Asked for (hidden) when omitted.", show_default=False),
    ] = None,
    create_workspace: Annotated[
        bool, typer.Option("--create-workspace", help="Create the workspace if it is missing.")
    ] = False,
    region: Annotated[
        str, typer.Option(help="Default phone region of a new workspace (ISO code).")
    ] = "PL",
    database_url: DatabaseUrlOption = None,
) -> None:
    """Create an admin agent, and with --create-workspace the workspace too."""
    settings = load_settings(database_url)
    require_schema(settings)
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise fail("the password must have at least 8 characters")
    from threadline.domain.errors import DomainError, InvalidIdentity

    try:
        created_workspace = asyncio.run(
            _create_admin(settings, workspace, email, name, password, create_workspace, region)
        )
    except InvalidIdentity as exc:
        hint = "for a local installation an address on a .test domain works, e.g. admin@shop.test"
        raise fail(f"{exc}; {hint}") from exc
    except DomainError as exc:
        raise fail(str(exc)) from exc
    if created_workspace:
        console.print(f"Created workspace {workspace!r} (region {region.upper()}).")
    console.print(f"[green]Admin {email} can now sign in to workspace {workspace!r}.[/green]")


async def _create_admin(
    settings: Settings,
    slug: str,
    email: str,
    name: str,
    password: str,
    create_missing: bool,
    region: str,
) -> bool:
    from threadline.bootstrap import build_runtime
    from threadline.domain.errors import NotFound
    from threadline.domain.security.access import Role
    from threadline.workspace import create_agent, create_workspace, find_workspace

    runtime = build_runtime(settings)
    try:
        async with runtime.uow() as uow:
            workspace = await find_workspace(uow.session, slug)
            created = False
            if workspace is None:
                if not create_missing:
                    raise NotFound(
                        f"there is no workspace {slug!r}; add --create-workspace to create it"
                    )
                workspace = await create_workspace(
                    uow, name=slug.replace("-", " ").title(), slug=slug, default_region=region
                )
                created = True
            await create_agent(
                uow, workspace.id, email=email, name=name, role=Role.ADMIN, password=password
            )
            await uow.commit()
            return created
    finally:
        await runtime.close()


@app.command()
def serve(
    host: HostOption = "127.0.0.1", port: PortOption = 8000, database_url: DatabaseUrlOption = None
) -> None:
    """Run the API (with the outbound worker in-process unless disabled)."""
    settings = load_settings(database_url)
    require_schema(settings)
    _serve(settings, host, port)


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from threadline.entrypoints.api.app import create_app

    console.print(f"Threadline is listening on [bold]http://{host}:{port}[/bold]")
    if settings.smtp_enabled:
        # Started with the app's background workers (entrypoints/api/app.py).
        console.print(f"Inbound SMTP on [bold]{settings.smtp_host}:{settings.smtp_port}[/bold]")
    # log_config=None: uvicorn's own lines go through our handler (text or JSON) too.
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", log_config=None)


@app.command()
def worker(database_url: DatabaseUrlOption = None) -> None:
    """Run the outbound and timer workers on their own (for scaling out with PostgreSQL)."""
    settings = load_settings(database_url)
    require_schema(settings)
    try:
        importlib.import_module("threadline.entrypoints.outbound_worker")
    except ModuleNotFoundError as exc:
        if exc.name != "threadline.entrypoints.outbound_worker":
            raise
        raise fail("this build has no outbound worker") from exc
    # The timer worker (SLA deadlines, follow-ups) runs beside it on the same runtime.
    from threadline.entrypoints.timer_worker import main as run_workers

    if settings.imap_poll_enabled:
        # IMAP mailboxes are polled beside them, on a loop and connections of their own.
        from threadline.entrypoints.imap_worker import start_in_background

        start_in_background(settings)
    run_workers(with_outbound=True)


@app.command()
def demo(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    database_url: DatabaseUrlOption = None,
    customers: CustomersOption = DEMO_CUSTOMERS,
    conversations: ConversationsOption = DEMO_CONVERSATIONS,
) -> None:
    """Migrate, seed the demo workspace if missing, print how to sign in, and serve."""
    from threadline.seed import DEMO_PASSWORD, DEMO_SLUG
    from threadline.seed.catalogue import AGENTS

    settings = load_settings(database_url)
    _migrate(settings)
    _seed_if_missing(settings, customers, conversations)
    console.print()
    console.print(f"Agent app:  [bold]http://{host}:{port}/app[/bold]")
    console.print(f"API docs:   [bold]http://{host}:{port}/docs[/bold]")
    console.print(f"Demo shop:  [bold]http://{host}:{port}/demo/shop[/bold] (web-chat widget)")
    console.print(f"Workspace:  [bold]{DEMO_SLUG}[/bold]")
    console.print(f"Password:   [bold]{DEMO_PASSWORD}[/bold] (every demo agent)")
    for agent in AGENTS:
        console.print(f"  {agent.role.value:<11} {agent.email}  ({agent.name})")
    console.print()
    _serve(settings, host, port)


if __name__ == "__main__":
    app()
