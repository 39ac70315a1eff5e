"""`threadline email-domain`: the operator allows the mail domains a workspace's inbox
addresses may use (see workspace/email_domains.py and docs/channels/email.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from threadline.config import Settings
from threadline.entrypoints.cli_settings import DatabaseUrlOption, load_settings, require_schema

if TYPE_CHECKING:
    from threadline.bootstrap import Runtime
    from threadline.core.unit_of_work import UnitOfWork

email_domain_app = typer.Typer(
    help="Mail domains each workspace may put inbox addresses on (operator only).",
    no_args_is_help=True,
)
console = Console()
Result = TypeVar("Result")

WorkspaceOption = Annotated[str, typer.Option("--workspace", help="The workspace slug.")]
DomainOption = Annotated[str, typer.Option("--domain", help="The mail domain, e.g. example.com.")]


def _settings(database_url: str | None) -> Settings:
    settings = load_settings(database_url)
    require_schema(settings)
    return settings


def _run(settings: Settings, work: Callable[[Runtime], Awaitable[Result]]) -> Result:
    # Imported when a command runs, so that `threadline --help` starts quickly.
    from threadline.bootstrap import build_runtime
    from threadline.domain.errors import DomainError

    async def main() -> Result:
        runtime = build_runtime(settings)
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        console.print(f"[red]error:[/red] {exc.reason}")
        raise typer.Exit(code=1) from exc


def _in_workspace(
    database_url: str | None,
    slug: str,
    change: Callable[[UnitOfWork, int], Awaitable[Result]],
) -> Result:
    """Apply `change` to the workspace named by `slug`, in one committed transaction."""
    from threadline.workspace import workspace_by_slug

    async def work(runtime: Runtime) -> Result:
        async with runtime.uow() as uow:
            found = await workspace_by_slug(uow.session, slug)
            result = await change(uow, found.id)
            await uow.commit()
            return result

    return _run(_settings(database_url), work)


@email_domain_app.command("allow")
def allow(
    workspace: WorkspaceOption, domain: DomainOption, database_url: DatabaseUrlOption = None
) -> None:
    """Let the workspace put inbox addresses on DOMAIN (which must be theirs)."""
    from threadline.workspace import allow_email_domain

    async def allow_domain(uow: UnitOfWork, workspace_id: int) -> str:
        return (await allow_email_domain(uow, workspace_id, domain)).domain

    allowed = _in_workspace(database_url, workspace, allow_domain)
    console.print(
        f"[green]Workspace {workspace!r} may now use the mail domain {allowed}[/green]: its"
        f" admins can give email inboxes addresses like support@{allowed}."
    )


@email_domain_app.command("revoke")
def revoke(
    workspace: WorkspaceOption, domain: DomainOption, database_url: DatabaseUrlOption = None
) -> None:
    """Take DOMAIN back from the workspace (refused while its inboxes use it)."""
    from threadline.domain.messaging.inbox_addresses import normalise_mail_domain
    from threadline.workspace import revoke_email_domain

    async def revoke_domain(uow: UnitOfWork, workspace_id: int) -> None:
        await revoke_email_domain(uow, workspace_id, domain)

    _in_workspace(database_url, workspace, revoke_domain)
    console.print(
        f"Workspace {workspace!r} may no longer use the mail domain {normalise_mail_domain(domain)}."
    )


@email_domain_app.command("list")
def list_domains(database_url: DatabaseUrlOption = None) -> None:
    """Every allowed mail domain and the workspace it belongs to."""
    from threadline.workspace import all_email_domains

    async def work(runtime: Runtime) -> list[tuple[str, str, str, str]]:
        async with runtime.sessionmaker() as session:
            return [
                (slug, claim.domain, claim.allowed_by, claim.created_at.isoformat())
                for claim, slug in await all_email_domains(session)
            ]

    rows = _run(_settings(database_url), work)
    if not rows:
        console.print("No mail domain is allowed for any workspace yet.")
        return
    table = Table("workspace", "domain", "allowed by", "allowed at")
    for row in rows:
        table.add_row(*row)
    console.print(table)
