"""Auditing the transparency log: rebuild it from the event log and check what was signed.

:func:`audit` recomputes every leaf from the event log and checks every stored node and every
stored checkpoint (root and signature) — what ``certsvc log audit`` runs.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from certsvc.errors import LogIntegrityError
from certsvc.i18n import N_
from certsvc.models.transparency import LogCheckpoint, LogKey, MerkleNode
from certsvc.transparency import store
from certsvc.transparency.checkpoints import event_facts
from certsvc.transparency.keys import log_verifiers
from certsvc.transparency.leaf import leaf_hash_of
from certsvc.transparency.merkle import EMPTY_ROOT, NodeId, extend, resolve
from certsvc.transparency.note import open_checkpoint

__all__ = ["audit"]


def _stored_nodes(session: Session, created: list[tuple[NodeId, bytes]]) -> dict[NodeId, bytes]:
    """The stored nodes at the ids of ``created``: one range query per level."""
    by_level: dict[int, list[int]] = {}
    for (level, idx), _ in created:
        by_level.setdefault(level, []).append(idx)
    stored: dict[NodeId, bytes] = {}
    for level, indexes in by_level.items():
        rows = session.execute(
            select(MerkleNode.idx, MerkleNode.hash).where(
                MerkleNode.level == level, MerkleNode.idx.between(min(indexes), max(indexes))
            )
        )
        stored.update(((level, int(idx)), bytes(value)) for idx, value in rows)
    return stored


def audit(session: Session, batch: int = 5_000) -> int:
    """Rebuild the whole tree from the event log and compare it with what is stored and signed.

    Every leaf is recomputed from today's rows, every interior node from the leaves, and every
    checkpoint's root from the rebuilt tree; each stored node and each checkpoint (root and
    signature) must match. Returns the tree size. Raises
    :class:`~certsvc.errors.LogIntegrityError` at the first difference: an event whose row or
    certificate changed after logging, a stored node that was altered, a checkpoint that does
    not match. O(n) time, O(log n) memory beyond one batch.
    """
    size = store.tree_size(session)
    verifiers = log_verifiers(session)
    checkpoints = list(session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.tree_size)))
    origins = {k.kid: k.origin for k in session.scalars(select(LogKey))}
    frontier: list[tuple[NodeId, bytes]] = []
    done = 0
    # Stop at every checkpoint size, so its root is the fold of the frontier there.
    stops = sorted({c.tree_size for c in checkpoints if c.tree_size <= size} | {size})
    for stop in stops:
        while done < stop:
            last = min(done + batch, stop)
            facts = list(event_facts(session, done + 1, last))
            if [f.seq for f in facts] != list(range(done + 1, last + 1)):
                raise LogIntegrityError(
                    N_("events between {first} and {last} were deleted"), first=done + 1, last=last
                )
            created, frontier = extend(frontier, done, [leaf_hash_of(f) for f in facts])
            stored = _stored_nodes(session, created)
            for node, value in created:
                if stored.get(node) != value:
                    if node[0] == 0:
                        raise LogIntegrityError(
                            N_(
                                "event {node} differs from what was logged: its row, or its "
                                "certificate's "
                                "token or record, was changed after logging"
                            ),
                            node=node[1] + 1,
                        )
                    raise LogIntegrityError(N_("stored Merkle node {node} was altered"), node=node)
            done = last
        root = resolve([[n for n, _ in frontier]], dict(frontier))[0] if frontier else EMPTY_ROOT
        for row in (c for c in checkpoints if c.tree_size == stop):
            signed = open_checkpoint(row.note, verifiers, origins[row.kid])
            if signed.size != stop or not signed.root_hash == root == bytes(row.root_hash):
                raise LogIntegrityError(
                    N_("checkpoint {stop} does not match the event log: the history was rewritten"),
                    stop=stop,
                )
    if checkpoints and checkpoints[-1].tree_size > size:
        raise LogIntegrityError(
            N_("checkpoint {tree_size} is ahead of the log"), tree_size=checkpoints[-1].tree_size
        )
    return size
