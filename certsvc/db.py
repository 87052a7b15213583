"""The database: one engine and session factory per app, SQLite by default, PostgreSQL by URL.

Units of work are explicit: ``with db.transaction() as session:`` commits on success and rolls
back on any exception. On SQLite every transaction starts with ``BEGIN IMMEDIATE`` so that two
writers queue on the database lock instead of failing with "database is locked" when a reader
upgrades to a writer mid-transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from certsvc.errors import ConfigError


def normalize_url(url: str) -> str:
    """Map the common ``postgresql://`` spelling to the psycopg 3 driver we ship."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine with the settings each backend needs to be safe under concurrency."""
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse text
        raise ConfigError(f"CERTSVC_DATABASE_URL is not a database URL: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            from pathlib import Path

            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)
    raise ConfigError(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite:///PATH or "
        "postgresql+psycopg://USER@HOST/DB"
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so BEGIN IMMEDIATE below is what runs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """Owns the engine and hands out sessions; one per app (``app.extensions``)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        """A new session; the caller owns it (use as a context manager)."""
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit when the block succeeds, roll back when it raises."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
