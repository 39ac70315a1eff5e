"""Creating the async engine, with SQLite tuned to behave under concurrent writers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from threadline.adapters.db.storable import dump_json, make_parameters_storable


def normalise_database_url(url: str) -> str:
    """Accept the plain URLs people paste and pick the async drivers we ship."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        url = "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


def is_sqlite(url: str) -> bool:
    return make_url(normalise_database_url(url)).get_backend_name() == "sqlite"


def on_postgresql(session: AsyncSession) -> bool:
    """Whether the session talks to PostgreSQL (else SQLite): for the statements written
    for one of them."""
    return session.get_bind().dialect.name == "postgresql"


def create_engine(url: str, *, pool_size: int = 30, **kwargs: Any) -> AsyncEngine:
    """`pool_size`: the PostgreSQL connections kept open, all of them (see Settings).

    Database errors never carry the values of the statement (passwords and tokens are among
    them: inbox settings, the inbox secret) into exception texts, and so into logs."""
    url = normalise_database_url(url)
    kwargs.setdefault("hide_parameters", True)
    # Text from outside may hold what no database stores (NUL, lone surrogates): storable.py.
    kwargs.setdefault("json_serializer", dump_json)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _tune_sqlite(engine)
        make_parameters_storable(engine)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", pool_size)
        kwargs.setdefault("max_overflow", 0)
    engine = create_async_engine(url, pool_pre_ping=True, **kwargs)
    make_parameters_storable(engine)
    hide_row_values_in_errors(engine.sync_engine)
    return engine


def hide_row_values_in_errors(engine: Engine) -> None:
    """Keep only PostgreSQL's primary error message in exception texts.

    Its DETAIL and CONTEXT lines quote values: "Failing row contains (…)" shows every column
    of a row that broke a NOT NULL or CHECK constraint, "Key (token)=(…)" a unique key, JSON
    errors the text around the fault. The full diagnostics stay on `exc.orig.diag`.
    """

    @event.listens_for(engine, "handle_error")
    def _primary_message_only(context: ExceptionContext) -> None:
        original = context.original_exception
        text = str(original)
        primary = text.split("\n", 1)[0]
        if primary == text:
            return
        original.args = (primary,)
        wrapped = context.sqlalchemy_exception
        if wrapped is not None and wrapped.args and isinstance(wrapped.args[0], str):
            wrapped.args = (wrapped.args[0].replace(text, primary), *wrapped.args[1:])


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout
        # instead of failing when a reader tries to upgrade to a writer.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
