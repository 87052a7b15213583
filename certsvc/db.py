"""The database: one engine and session factory per app, SQLite by default, PostgreSQL by URL.

Units of work are explicit: ``with db.transaction() as session:`` commits on success and rolls
back on any exception. On SQLite every transaction starts with ``BEGIN IMMEDIATE`` so that two
writers queue on the database lock instead of failing with "database is locked" when a reader
upgrades to a writer mid-transaction.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Engine,
    Row,
    Table,
    any_,
    bindparam,
    column,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import (
    DeclarativeBase,
    InstrumentedAttribute,
    Session,
    SessionTransaction,
    sessionmaker,
)

from certsvc.errors import CertsvcError, ConcurrentChange, ConfigError, InvalidInput
from certsvc.i18n import N_, Message
from certsvc.private_files import create_private_file

T = TypeVar("T")

#: The largest row id a database column holds (signed 64 bits); SQLite's driver raises
#: OverflowError for a larger integer instead of finding nothing.
MAX_ROW_ID = 2**63 - 1


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
        raise ConfigError(N_("CERTSVC_DATABASE_URL is not a database URL: {exc}"), exc=exc) from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            # Personal data: owner-only, and SQLite gives -wal/-shm/-journal the same mode.
            create_private_file(Path(database))
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        # No pool_pre_ping: it costs a round trip on every checkout, as much as the one SELECT
        # a verification needs. A connection the server dropped fails its first statement
        # instead; SQLAlchemy then invalidates the whole pool, and Database.read retries reads
        # once on a fresh connection. pool_recycle retires connections before idle timeouts.
        return create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_recycle=1800)
    raise ConfigError(
        N_(
            "unsupported database {backend!r}: use sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/DB"
        ),
        backend=parsed.get_backend_name(),
    )


#: The pragmas of the service's SQLite database: foreign keys enforced, WAL, a patient wait.
SERVICE_PRAGMAS = ("foreign_keys=ON", "journal_mode=WAL", "busy_timeout=30000")


#: Execution option of a connection that only reads (see :meth:`Database.snapshot`).
READ_ONLY_OPTION = "certsvc_read_only"


def configure_sqlite(engine: Engine, pragmas: Sequence[str] = SERVICE_PRAGMAS) -> None:
    """Run ``pragmas`` on every new connection of a SQLite ``engine`` and open every
    transaction with ``BEGIN IMMEDIATE``, so that two writers queue on the database lock
    instead of failing when a reader upgrades to a writer mid-transaction."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so BEGIN IMMEDIATE below is what runs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:  # constants of this module and its callers, never input
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A read-only snapshot (Database.snapshot) takes no write lock: in WAL mode it then
        # blocks no writer, however long it reads.
        deferred = connection.get_execution_options().get(READ_ONLY_OPTION)
        connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


_AFTER_COMMIT = "certsvc.after_commit"
#: ``Session.info`` key of :attr:`Database.publish_events`.
PUBLISH_EVENTS = "certsvc.publish_events"


def after_commit(session: Session, work: Callable[[], None]) -> None:
    """Run ``work`` once the transaction ``session`` is in commits (dropped if it rolls back).

    For follow-up work that must see the commit, such as signing a transparency checkpoint
    over events just written; ``work`` uses sessions of its own.
    """
    pending: list[Callable[[], None]] = session.info.setdefault(_AFTER_COMMIT, [])
    if work not in pending:  # once per commit, however many events asked for it
        pending.append(work)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:  # a savepoint: wait for the real commit
        return
    for work in session.info.pop(_AFTER_COMMIT, []):
        work()


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:  # the whole transaction, not a savepoint
        session.info.pop(_AFTER_COMMIT, None)


class Database:
    """Owns the engine and hands out sessions; one per app (``app.extensions``)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        #: Run after a transaction of one of these sessions that added events commits
        #: (:mod:`certsvc.events`); :class:`~certsvc.runtime.Runtime` checkpoints the log.
        self.publish_events: Callable[[], None] | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        """A new session; the caller owns it (use as a context manager)."""
        session = self._sessions()
        if self.publish_events is not None:
            session.info[PUBLISH_EVENTS] = self.publish_events
        return session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit when the block succeeds, roll back when it raises.

        A refusal the request itself caused is raised as a :class:`CertsvcError` that says
        what to do (:func:`refusal`): a constraint another request won at the same moment
        (two admins adding the same user name, two batches certifying the same person) and a
        value the database cannot take. Other database errors (it is down, the schema is
        missing) are raised as they come, for the web and CLI error handlers.
        """
        try:
            with self.session() as session, session.begin():
                yield session
        except (IntegrityError, DataError) as exc:
            raise refusal(exc) from exc

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for read-only work.

        On PostgreSQL it runs in autocommit mode: a read of one or two SELECTs, each atomic by
        itself, saves the BEGIN and ROLLBACK round trips of a transaction. On SQLite (whose
        engine opens every transaction with BEGIN IMMEDIATE) it is a plain session.
        """
        if self.dialect != "postgresql":
            with self.session() as session:
                yield session
            return
        with self.engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            with Session(bind=autocommit) as session:
                yield session

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A session for a long read (rendering a batch) while other sessions write.

        On SQLite its transactions begin DEFERRED, not IMMEDIATE: it holds no write lock, so
        a job can write its progress from another session while this one reads. On
        PostgreSQL, where readers never block writers, it is a plain session.
        """
        if self.dialect != "sqlite":
            with self.session() as session:
                yield session
            return
        with self.engine.connect() as connection:
            connection.execution_options(**{READ_ONLY_OPTION: True})
            with Session(bind=connection) as session:
                yield session

    def read(self, work: Callable[[Session], T]) -> T:
        """``work(session)`` in a :meth:`reading` session, retried once if the connection was
        dead (the server restarted or dropped it): a read is safe to repeat, so a verifier
        never sees the one failure that tells the pool its connections are stale."""
        try:
            with self.reading() as session:
                return work(session)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        with self.reading() as session:
            return work(session)

    def dispose(self) -> None:
        self.engine.dispose()


#: What a table's constraints protect, for the message of a :class:`ConcurrentChange`.
_WHAT_CLASHED = {
    "accounts": N_("an account with this user name"),
    "api_tokens": N_("this API token"),
    "batches": N_("a batch with this content or idempotency key"),
    "body_scope": N_("this entry of the body's scope"),
    "certificates": N_("a valid certificate for the same person, occupation and level"),
    "certification_bodies": N_("a body with this code or credit code"),
    "ecosystem_members": N_("this membership"),
    "occupations": N_("this occupation"),
    "signing_keys": N_("the body's active signing key"),
}


def refusal(exc: IntegrityError | DataError) -> CertsvcError:
    """The :class:`CertsvcError` for a database refusal caused by the request.

    A constraint violation that the service's own checks did not foresee can only come from
    another request that wrote the same thing between the check and the write: a
    :class:`ConcurrentChange` (HTTP 409) naming what clashed, never the database's text
    (it may quote the values). A value the database cannot store is :class:`InvalidInput`.
    """
    if isinstance(exc, DataError):
        return InvalidInput(
            N_(
                "a value is too long, out of range or holds a character the database cannot "
                "store (such as NUL); nothing was saved — check the values and submit again"
            )
        )
    # The drivers name the table ("accounts.username" on SQLite) or the constraint
    # ("uq_accounts_username", "pk_body_scope" on PostgreSQL).
    detail = str(exc.orig)
    what = next(
        (
            phrase
            for table, phrase in _WHAT_CLASHED.items()
            if any(f in detail for f in (f"{table}.", f'"{table}', f"_{table}_", f'_{table}"'))
        ),
        N_("the same record"),
    )
    return ConcurrentChange(
        N_(
            "{what} was written by another request at the same moment; nothing from this one "
            "was saved — reload and try again"
        ),
        what=Message(what),
    )


def one_of(
    session: Session, attribute: InstrumentedAttribute[Any], values: Collection[Any]
) -> ColumnElement[bool]:
    """``attribute IN values``, written for the session's backend.

    On PostgreSQL ``= ANY(:values)`` with the values bound as one array: a batch looks up
    a thousand ID hashes at a time, and a thousand bound parameters cost more to render,
    send and parse than the look-up itself. Elsewhere a plain ``IN``.
    """
    if session.get_bind().dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=ARRAY(attribute.type))
        return attribute == any_(array)
    return attribute.in_(values)


def _table(model: type[DeclarativeBase]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _copy(
    session: Session, table: Table, target: str, first: Mapping[str, Any], rows: Iterator[Any]
) -> None:
    """Stream rows into ``target`` (a table name) with PostgreSQL ``COPY … FROM STDIN``."""
    connection = session.connection()
    columns = list(first.keys())
    processors = [table.c[name].type.bind_processor(connection.dialect) for name in columns]
    names = ", ".join(f'"{name}"' for name in columns)  # from the model, never from input
    driver = connection.connection.driver_connection
    assert driver is not None
    statement = f"COPY {target} ({names}) FROM STDIN"
    dialect = connection.dialect
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in itertools.chain([first], rows):
                copy.write_row(
                    [
                        row[name] if proc is None else proc(row[name])
                        for name, proc in zip(columns, processors, strict=True)
                    ]
                )
    except dialect.loaded_dbapi.Error as exc:
        # The driver's own error (psycopg's UniqueViolation, say), raised as SQLAlchemy
        # raises one from a statement it ran — IntegrityError, OperationalError… — so callers
        # handle a violation the same way whichever path wrote the rows.
        raise DBAPIError.instance(
            statement,
            None,
            exc,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            dialect=dialect,
        ) from exc


def bulk_insert(
    session: Session, model: type[DeclarativeBase], rows: Iterable[Mapping[str, Any]]
) -> None:
    """Insert many rows as fast as the backend allows, inside the session's transaction.

    On PostgreSQL this is ``COPY … FROM STDIN``: one stream, no per-row statement, several
    times faster than a pipelined ``executemany``, and rows are sent while the caller is still
    producing the next ones, so the server works in parallel with the producer. Elsewhere it
    is ``executemany``. Constraint violations raise ``IntegrityError`` either way.
    """
    table = _table(model)
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(table.insert(), [first, *iterator])
        return
    _copy(session, table, f'"{table.name}"', first, iterator)


def insert_ignoring_conflicts(
    session: Session,
    model: type[DeclarativeBase],
    rows: Sequence[Mapping[str, Any]],
    conflict_columns: Sequence[str],
    returning: Sequence[InstrumentedAttribute[Any]],
) -> list[Row[Any]]:
    """Insert rows, skipping those that clash on ``conflict_columns``; return the inserted.

    On PostgreSQL the rows are copied into a temporary table and moved over in one
    ``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING``; elsewhere each row is inserted
    with ``ON CONFLICT DO NOTHING RETURNING``.
    """
    if not rows:
        return []
    table = _table(model)
    dialect = session.get_bind().dialect.name
    if dialect != "postgresql":
        statement = (
            sqlite_insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
        ).returning(*returning)
        found: list[Row[Any]] = []
        for row in rows:
            found.extend(session.execute(statement, row).all())
        return found
    staging = f"staging_{table.name}"
    columns = list(rows[0].keys())
    # Same column types, no constraints or defaults (so no sequence values are used up).
    quoted = ", ".join(f'"{name}"' for name in columns)
    create = (  # names come from the model, never from input
        f'CREATE TEMPORARY TABLE IF NOT EXISTS "{staging}" ON COMMIT DELETE ROWS AS '  # noqa: S608
        f'SELECT {quoted} FROM "{table.name}" WITH NO DATA'
    )
    session.execute(text(create))
    _copy(session, table, f'"{staging}"', rows[0], iter(rows[1:]))
    staged: list[ColumnClause[Any]] = [column(name) for name in columns]
    source = select(*staged).select_from(text(f'"{staging}"'))
    statement = (
        pg_insert(table)
        .from_select(columns, source)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
        .returning(*returning)
    )
    return list(session.execute(statement).all())
