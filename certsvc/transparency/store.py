"""The Merkle tree in the database: append leaf hashes, read roots and proofs in O(log n).

Every complete subtree's hash is stored once in ``merkle_nodes`` when its last leaf arrives
(:func:`certsvc.transparency.merkle.extend`). Appending ``k`` leaves reads the tree's right
edge (at most ``log2(n)`` nodes) and writes fewer than ``2k`` rows; a root or a proof for any
tree size reads at most ``2·log2(n)`` nodes, by primary key, in one statement.

The log grows under a lock on the one ``log_state`` row (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite transactions here begin ``IMMEDIATE`` and so hold the write lock already),
so two writers never interleave. Readers need no lock: nodes are never changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import TextClause, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from certsvc.db import bulk_insert
from certsvc.errors import LogIntegrityError, LogRangeError
from certsvc.i18n import N_
from certsvc.models.transparency import LogState, MerkleNode
from certsvc.transparency import merkle
from certsvc.transparency.merkle import EMPTY_ROOT, NodeId

__all__ = [
    "append_leaves",
    "consistency_proof",
    "inclusion_proof",
    "lock_log",
    "read_nodes",
    "root_hash",
    "tree_size",
]

#: Node ids per SELECT (keeps every statement well under the backends' parameter limits).
_READ_CHUNK = 200


def tree_size(session: Session) -> int:
    """How many leaves the log holds (0 before the first append)."""
    size = session.scalar(select(LogState.tree_size).where(LogState.id == 1))
    return int(size or 0)


def lock_log(session: Session) -> int:
    """Take the log's write lock until the transaction ends; return the current tree size."""
    dialect = session.get_bind().dialect.name
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert_(LogState).values(id=1, tree_size=0).on_conflict_do_nothing(index_elements=["id"])
    )
    size = session.scalar(select(LogState.tree_size).where(LogState.id == 1).with_for_update())
    return int(size or 0)


def _select_nodes(ids: Sequence[NodeId]) -> tuple[TextClause, dict[str, int]]:
    """``SELECT … WHERE (level = :l0 AND idx = :i0) OR …``: one primary-key probe per node.

    Both backends answer it with index look-ups (SQLite scans the whole table for the
    row-value form ``(level, idx) IN (…)``). Written as text because building the same
    condition from ORM expressions costs more than running it.
    """
    terms = " OR ".join(f"(level = :l{n} AND idx = :i{n})" for n in range(len(ids)))
    params: dict[str, int] = {}
    for n, (level, idx) in enumerate(ids):
        params[f"l{n}"], params[f"i{n}"] = level, idx
    # Only generated parameter names are interpolated; every value is bound.
    return text(f"SELECT level, idx, hash FROM merkle_nodes WHERE {terms}"), params  # noqa: S608


def read_nodes(session: Session, ids: Iterable[NodeId]) -> dict[NodeId, bytes]:
    """The stored hashes of ``ids``; LogIntegrityError if any of them is missing."""
    wanted = sorted(set(ids))
    found: dict[NodeId, bytes] = {}
    for start in range(0, len(wanted), _READ_CHUNK):
        statement, params = _select_nodes(wanted[start : start + _READ_CHUNK])
        for level, idx, value in session.execute(statement, params):
            found[(int(level), int(idx))] = bytes(value)
    missing = [node for node in wanted if node not in found]
    if missing:
        raise LogIntegrityError(
            N_(
                "the transparency log is missing stored nodes such as {missing}: the merkle_nodes "
                "table was changed outside certsvc — restore it from a backup"
            ),
            missing=missing[:3],
        )
    return found


def _resolve(session: Session, plan: merkle.Plan) -> list[bytes]:
    return merkle.resolve(plan, read_nodes(session, merkle.plan_nodes(plan)))


def append_leaves(session: Session, leaf_hashes: Sequence[bytes], *, size: int) -> int:
    """Append leaf hashes to the tree of ``size`` leaves; return the new size.

    The caller holds the log lock (:func:`lock_log`) and passes the size it returned. Nodes are
    written with the fastest bulk path of each backend (``COPY`` on PostgreSQL).
    """
    if not leaf_hashes:
        return size
    edge = merkle.compact_range(0, size)
    known = read_nodes(session, edge)
    created, _ = merkle.extend([(n, known[n]) for n in edge], size, leaf_hashes)
    if session.get_bind().dialect.name == "sqlite":
        # The driver's executemany is about 3x faster than the ORM's here; the table and
        # columns are fixed, the values bound.
        session.connection().exec_driver_sql(
            "INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)",
            [(level, idx, value) for (level, idx), value in created],
        )
    else:
        bulk_insert(
            session,
            MerkleNode,
            ({"level": level, "idx": idx, "hash": value} for (level, idx), value in created),
        )
    new_size = size + len(leaf_hashes)
    session.execute(update(LogState).where(LogState.id == 1).values(tree_size=new_size))
    return new_size


def _check_size(session: Session, size: int, what: str) -> None:
    current = tree_size(session)
    if not 0 <= size <= current:
        raise LogRangeError(
            N_("{what} {size} is not a size of this log (it holds {current} events)"),
            what=what,
            size=size,
            current=current,
        )


def root_hash(session: Session, size: int) -> bytes:
    """The root hash of the tree of the first ``size`` leaves (any size up to the current)."""
    _check_size(session, size, "tree size")
    if size == 0:
        return EMPTY_ROOT
    return _resolve(session, merkle.root_plan(size))[0]


def inclusion_proof(
    session: Session, seq: int, tree_size: int, *, size_known: bool = False
) -> list[bytes]:
    """The audit path of event ``seq`` (leaf ``seq − 1``) in the tree of ``tree_size`` leaves.

    ``size_known``: the caller took ``tree_size`` from a stored checkpoint (never beyond the
    tree), so the round trip that reads the tree's size is saved.
    """
    if not size_known:
        _check_size(session, tree_size, "tree size")
    if not 1 <= seq <= tree_size:
        raise LogRangeError(
            N_("event {seq} is not in the log's first {tree_size} events"),
            seq=seq,
            tree_size=tree_size,
        )
    return _resolve(session, merkle.inclusion_plan(seq - 1, tree_size))


def consistency_proof(session: Session, old_size: int, new_size: int) -> list[bytes]:
    """The proof that the tree of ``new_size`` leaves extends the tree of ``old_size``."""
    _check_size(session, new_size, "tree size")
    if not 1 <= old_size <= new_size:
        raise LogRangeError(
            N_(
                "no consistency proof from size {old_size} to {new_size}: the old size must "
                "be from 1 to the new size"
            ),
            old_size=old_size,
            new_size=new_size,
        )
    return _resolve(session, merkle.consistency_plan(old_size, new_size))
