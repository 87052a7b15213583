"""Tables of the transparency log: stored subtree hashes, checkpoints, log keys, the log head.

They subclass :class:`certsvc.models.base.Base` and :mod:`certsvc.models` imports them, so
Alembic and the tests see one schema. Every row except ``log_state`` is append-only: a node
or a checkpoint once written is never changed (a changed one is a rewritten history, which
:func:`certsvc.transparency.log.audit` reports).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from certsvc.models.base import Base, UTCDateTime, utcnow

__all__ = ["LogCheckpoint", "LogKey", "LogState", "MerkleNode"]


class MerkleNode(Base):
    """The hash of one complete subtree: ``(level, idx)`` covers leaves ``[idx·2^level, …)``.

    Level 0 holds the leaf hashes (leaf ``idx`` is event ``seq = idx + 1``). A tree of ``n``
    leaves stores fewer than ``2n`` nodes; any root or proof of any size up to ``n`` is a fold
    of at most ``2·log2(n)`` of them (see :mod:`certsvc.transparency.merkle`).
    """

    __tablename__ = "merkle_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    # The primary key is the only access path: on SQLite store the rows in it directly.
    __table_args__ = ({"sqlite_with_rowid": False},)


class LogState(Base):
    """The one row holding the log's size; locked while the log grows (one writer at a time)."""

    __tablename__ = "log_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


class LogKey(Base):
    """An Ed25519 key that signs checkpoints. The private half is ``keys/<kid>.pem``, encrypted.

    ``origin`` is the log's name: the first line of every checkpoint and the key name in the
    signature line (C2SP signed-note); it never changes when the key is replaced.
    """

    __tablename__ = "log_keys"

    kid: Mapped[str] = mapped_column(String(43), primary_key=True)
    origin: Mapped[str] = mapped_column(String(255))
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint("status IN ('active', 'retired')", name="status"),
        Index(
            "uq_log_keys_one_active",
            "status",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )


class LogCheckpoint(Base):
    """A signed tree head: the C2SP checkpoint note for one tree size, as published."""

    __tablename__ = "log_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: The whole signed note: ``origin\\nsize\\nbase64(root)\\n\\n— origin base64(sig)\\n``.
    note: Mapped[str] = mapped_column(Text)
    kid: Mapped[str] = mapped_column(ForeignKey("log_keys.kid"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
