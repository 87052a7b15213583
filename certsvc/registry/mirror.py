"""The registry's local mirror: what ``certsvc registry pull`` keeps, and how a page is applied.

The mirror is the reference client's own small database (SQLite file by default, any
SQLAlchemy URL), created by the client on first use; it is not the service schema. It holds:

* ``mirror_state`` — one row: the source URL, the **cursor** (last seq applied) and the
  cached JWKS with its ETag;
* ``mirror_certificates`` — every certificate whose record verified, with its status as the
  signed status statements say, and ``trusted`` false when its key was reported compromised
  before it was signed;
* ``mirror_keys`` — the signing keys as the feed announced them;
* ``mirror_events`` — one row per seq seen: ``applied``, ``recorded`` (body events) or
  ``rejected`` with the reason;
* ``mirror_photos`` — the holder photos the verified records name, each checked against the
  signed digest before it is kept;
* ``mirror_log`` — one row: the last transparency-log checkpoint the client accepted (saved
  with the page it came with) and the cached ``/.well-known/transparency.json`` (log keys).

A page is applied in **one transaction** together with the new cursor; an event whose seq is
not above the cursor is a duplicate delivery and is skipped. So a client killed at any point
leaves the mirror at the end of some earlier page, and the next run resumes from there.
Verification happens before anything is written: a record that does not verify is recorded
as rejected and changes nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    create_engine,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from certsvc.db import configure_sqlite, normalize_url
from certsvc.models.base import NAMING, UTCDateTime
from certsvc.private_files import create_private_file

__all__ = [
    "Mirror",
    "MirrorCertificate",
    "MirrorEvent",
    "MirrorKey",
    "MirrorLog",
    "MirrorPhoto",
    "MirrorState",
    "mirror_url",
]


class MirrorBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class MirrorState(MirrorBase):
    __tablename__ = "mirror_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(500), default="")
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    jwks_etag: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MirrorCertificate(MirrorBase):
    __tablename__ = "mirror_certificates"

    number: Mapped[str] = mapped_column(String(22), primary_key=True)
    body_code: Mapped[str] = mapped_column(String(13), index=True)
    kid: Mapped[str] = mapped_column(String(43), index=True)
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    holder_name: Mapped[str] = mapped_column(String(100))
    id_type: Mapped[str] = mapped_column(String(32))
    #: The holder's ID number in clear: the registry needs it (see certsvc.registry).
    id_number: Mapped[str] = mapped_column(String(64), index=True)
    occupation_code: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(1))
    issue_date: Mapped[str] = mapped_column(String(10))
    route: Mapped[str] = mapped_column(String(16))
    employer_uscc: Mapped[str] = mapped_column(String(18))
    supersedes: Mapped[str | None] = mapped_column(String(22), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="valid")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    status_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    superseded_by: Mapped[str | None] = mapped_column(String(22), nullable=True)
    trusted: Mapped[bool] = mapped_column(Boolean, default=True)
    issued_seq: Mapped[int] = mapped_column(BigInteger)
    status_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: The certificate's vc+jwt, and the signed status statement of its last status change.
    record: Mapped[str] = mapped_column(Text)
    status_record: Mapped[str | None] = mapped_column(Text, nullable=True)


class MirrorKey(MirrorBase):
    __tablename__ = "mirror_keys"

    kid: Mapped[str] = mapped_column(String(43), primary_key=True)
    body_code: Mapped[str] = mapped_column(String(13))
    jwk: Mapped[dict[str, str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    compromised_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    seq: Mapped[int] = mapped_column(BigInteger)


class MirrorEvent(MirrorBase):
    __tablename__ = "mirror_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    certificate: Mapped[str | None] = mapped_column(String(22), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")


class MirrorPhoto(MirrorBase):
    """A holder photo fetched by the digest a verified record signs, after checking that the
    bytes have that digest (a table of its own, so older mirrors gain it from ``create_all``)."""

    __tablename__ = "mirror_photos"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)
    fetched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class MirrorLog(MirrorBase):
    """The service's transparency log as this mirror last saw it (a table of its own, so
    mirrors made before it existed gain it from ``create_all``)."""

    __tablename__ = "mirror_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: The last accepted checkpoint (signed note), its size and root hash (standard base64).
    checkpoint: Mapped[str | None] = mapped_column(Text, nullable=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, default=0)
    root_hash: Mapped[str] = mapped_column(String(64), default="")
    #: The cached ``/.well-known/transparency.json``: origin and log keys.
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


def mirror_url(target: str) -> str:
    """A SQLAlchemy URL as is; anything else is a SQLite file path."""
    if "://" in target:
        return normalize_url(target)
    return f"sqlite:///{Path(target).expanduser().resolve()}"


def _sqlite_engine(url: str) -> Engine:
    database = url.removeprefix("sqlite:///")
    if database and database != ":memory:":
        # It holds clear ID numbers: owner-only from the start.
        create_private_file(Path(database))
    engine = create_engine(url, connect_args={"timeout": 30})
    # A mirror is the registry's copy of record: every committed page survives a power cut.
    configure_sqlite(engine, ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000"))
    return engine


class Mirror:
    """A mirror database: engine, schema on first use, one transaction per page."""

    def __init__(self, target: str) -> None:
        self.url = mirror_url(target)
        if self.url.startswith("sqlite:"):
            self.engine = _sqlite_engine(self.url)
        else:
            self.engine = create_engine(self.url, pool_pre_ping=True)
        MirrorBase.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        with self.transaction() as session:
            if session.get(MirrorState, 1) is None:
                session.add(MirrorState(id=1, cursor=0))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def state(self) -> MirrorState:
        with self._sessions() as session:
            state = session.get(MirrorState, 1)
            assert state is not None
            return state

    def save_jwks(self, document: dict[str, Any], etag: str) -> None:
        with self.transaction() as session:
            session.execute(
                update(MirrorState)
                .where(MirrorState.id == 1)
                .values(jwks=document, jwks_etag=etag, updated_at=dt.datetime.now(dt.UTC))
            )

    def log(self) -> MirrorLog:
        """The transparency-log row (created empty on first use)."""
        with self.transaction() as session:
            row = session.get(MirrorLog, 1)
            if row is None:
                row = MirrorLog(id=1, tree_size=0, root_hash="")
                session.add(row)
            return row

    def outcomes(self) -> dict[str, int]:
        """How many events were applied, recorded and rejected, in all runs."""
        with self._sessions() as session:
            rows = session.execute(
                select(MirrorEvent.outcome, func.count()).group_by(MirrorEvent.outcome)
            )
            return {outcome: int(n) for outcome, n in rows}

    def untrusted(self) -> int:
        """How many mirrored certificates were signed after their key's compromise cut-off."""
        with self._sessions() as session:
            query = select(func.count()).where(MirrorCertificate.trusted.is_(False))
            return int(session.scalar(query.select_from(MirrorCertificate)) or 0)

    def dispose(self) -> None:
        self.engine.dispose()


def insert_rows(session: Session, model: type[MirrorBase], rows: list[dict[str, Any]]) -> None:
    """Insert many rows with one executemany (nothing when ``rows`` is empty)."""
    if rows:
        session.execute(insert(model), rows)
