"""What every `threadline` command does first: read the settings (with --database-url) and,
for commands that use the database, check that its schema is this release's."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer
from rich.console import Console

from threadline.config import Settings, get_settings
from threadline.entrypoints.logging_setup import configure_logging

console = Console()

DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Database URL; overrides THREADLINE_DATABASE_URL (default: SQLite in ~/.threadline).",
        show_default=False,
    ),
]


def load_settings(database_url: str | None) -> Settings:
    """Settings from the environment, with --database-url taking precedence.

    The override is also put into the environment, so that anything started from here
    (the API's own runtime, the worker) reads the same database.
    """
    if database_url:
        os.environ["THREADLINE_DATABASE_URL"] = database_url
    get_settings.cache_clear()
    settings = get_settings()
    configure_logging(settings)
    return settings


def shown_url(url: str) -> str:
    """The database URL without its password, for messages on the terminal."""
    from threadline.adapters.db.reachability import shown_url as without_password

    return without_password(url)


def fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


def require_schema(settings: Settings) -> None:
    """Commands that use the database stop with a sentence, not a traceback, when its schema
    is missing or from another release (the same check as /readyz)."""
    from threadline.adapters.db.reachability import UNREACHABLE_ERRORS
    from threadline.adapters.db.schema_version import database_schema_problem

    shown = shown_url(settings.database_url)
    try:
        problem = asyncio.run(database_schema_problem(settings.database_url))
    except UNREACHABLE_ERRORS as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise fail(f"cannot reach the database {shown}: {reason}") from exc
    if problem is not None:
        raise fail(f"{shown}: {problem}")
