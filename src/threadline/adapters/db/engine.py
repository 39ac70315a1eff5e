"""Creating the async engine, with SQLite tuned to behave under concurrent writers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
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
    """`pool_size`: the PostgreSQL connections kept open, all of them (see Settings)."""
    url = normalise_database_url(url)
    # Text from outside may hold what no database stores (NUL, lone surrogates): storable.py.
    kwargs.setdefault("json_serializer", dump_json)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _tune_sqlite(engine)
    else:
        if "poolclass" not in kwargs:
            kwargs.setdefault("pool_size", pool_size)
            kwargs.setdefault("max_overflow", 0)
        engine = create_async_engine(url, pool_pre_ping=True, **kwargs)
    make_parameters_storable(engine)
    return engine


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
