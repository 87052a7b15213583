"""Growing the transparency log: append committed events, sign and publish checkpoints.

:func:`append_and_checkpoint` brings the Merkle tree up to the last committed event and signs
a checkpoint for the new size. It runs after a unit of work commits (:func:`publish`: after
each batch, and after any transaction that added events one by one — :mod:`certsvc.events`),
or from cron via ``certsvc log checkpoint``. It is idempotent —
with nothing new it returns the latest checkpoint — and safe to run concurrently: writers
queue on the log lock (:func:`certsvc.transparency.store.lock_log`) and the second finds the
work done.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from certsvc.errors import CertsvcError, LogIntegrityError
from certsvc.i18n import N_
from certsvc.models import Certificate, CertificationBody, Event, EventLogHead
from certsvc.models.transparency import LogCheckpoint, LogKey
from certsvc.signing.keys import public_key_from_jwk
from certsvc.transparency import store
from certsvc.transparency.keys import LogKeys, LogSigner, log_origin
from certsvc.transparency.leaf import EventFacts, leaf_hash_of
from certsvc.transparency.note import Checkpoint, verifier_key

if TYPE_CHECKING:
    from certsvc.runtime import Runtime

__all__ = [
    "APPEND_CHUNK",
    "SignedCheckpoint",
    "append_and_checkpoint",
    "append_events",
    "event_facts",
    "last_seq",
    "latest_checkpoint",
    "publish",
    "sign_checkpoint",
    "transparency_document",
]

log = logging.getLogger("certsvc.transparency")

#: Events appended per transaction when catching up on a long backlog.
APPEND_CHUNK = 20_000
#: Event rows read per SELECT while appending.
_FETCH_ROWS = 2_000


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint as stored and published."""

    origin: str
    tree_size: int
    root_hash: bytes
    #: The whole C2SP signed note.
    note: str
    kid: str
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: LogCheckpoint, origin: str) -> SignedCheckpoint:
        return cls(origin, row.tree_size, bytes(row.root_hash), row.note, row.kid, row.created_at)


def event_facts(session: Session, first: int, last: int) -> Iterator[EventFacts]:
    """The leaf facts of events ``first`` to ``last`` (inclusive), in seq order."""
    rows = session.execute(
        select(
            Event.seq,
            Event.kind,
            Event.occurred_at,
            Event.data,
            CertificationBody.code,
            Certificate.number,
            Certificate.token,
            Certificate.record,
        )
        .outerjoin(CertificationBody, CertificationBody.id == Event.body_id)
        .outerjoin(Certificate, Certificate.id == Event.certificate_id)
        .where(Event.seq >= first, Event.seq <= last)
        .order_by(Event.seq)
    )
    for seq, kind, occurred_at, data, body, number, token, record in rows:
        yield EventFacts(
            seq=int(seq),
            kind=kind,
            occurred_at=occurred_at,
            data=data or {},
            body_code=body,
            certificate_number=number,
            token=token if kind == "issued" else None,
            record=record if kind == "issued" else None,
        )


def last_seq(session: Session) -> int:
    """The seq of the last committed event (0 before the first)."""
    return int(session.scalar(select(EventLogHead.last_seq).where(EventLogHead.id == 1)) or 0)


def _count_events(session: Session, first: int, last: int) -> int:
    return int(
        session.scalar(select(func.count()).where(Event.seq >= first, Event.seq <= last)) or 0
    )


def append_events(
    session: Session,
    size: int,
    limit: int = APPEND_CHUNK,
    known: Mapping[int, bytes] | None = None,
) -> int:
    """Append up to ``limit`` committed events after the first ``size``; return the new size.

    The caller holds the log lock and passes the size :func:`store.lock_log` returned. Seqs are
    committed gap-free in order (:mod:`certsvc.events`), so the events after ``size`` that are
    visible now are exactly ``size + 1 … head``; a hole means rows were deleted.

    ``known`` maps seqs to the leaf hashes of events the caller has just committed and
    computed from the very values it wrote (:func:`certsvc.issuance.service.issue_batch`);
    those events are only counted, not read back. Every other event is read and hashed here.
    """
    known = known or {}
    last = min(last_seq(session), size + limit)
    for first in range(size + 1, last + 1, _FETCH_ROWS):
        stop = min(first + _FETCH_ROWS - 1, last)
        seqs = range(first, stop + 1)
        if all(seq in known for seq in seqs):
            present = _count_events(session, first, stop) == len(seqs)
            leaves = [known[seq] for seq in seqs]
        else:
            facts = list(event_facts(session, first, stop))
            present = [f.seq for f in facts] == list(seqs)
            leaves = [leaf_hash_of(f) for f in facts]
        if not present:
            raise LogIntegrityError(
                N_(
                    "the event log has a hole after seq {size}: events were deleted, so the "
                    "transparency log cannot grow — restore the events table from a backup"
                ),
                size=size,
            )
        size = store.append_leaves(session, leaves, size=size)
    return size


def _latest_row(session: Session) -> LogCheckpoint | None:
    return session.scalar(select(LogCheckpoint).order_by(LogCheckpoint.tree_size.desc()).limit(1))


def sign_checkpoint(session: Session, signer: LogSigner, size: int) -> SignedCheckpoint:
    """Sign and store the checkpoint of ``size`` unless the latest one already covers it.

    Before signing, the latest stored checkpoint's root is recomputed from the stored nodes: a
    log whose stored tree no longer matches what it signed is never signed again.
    """
    latest = _latest_row(session)
    if latest is not None:
        if bytes(latest.root_hash) != store.root_hash(session, latest.tree_size):
            raise LogIntegrityError(
                N_(
                    "the stored Merkle tree no longer matches checkpoint {tree_size}: "
                    "merkle_nodes was changed — nothing is signed until it is restored"
                ),
                tree_size=latest.tree_size,
            )
        if latest.tree_size == size:
            return SignedCheckpoint.from_row(latest, signer.origin)
        if latest.tree_size > size:
            raise LogIntegrityError(
                N_("checkpoint {tree_size} is ahead of the log ({size} events)"),
                tree_size=latest.tree_size,
                size=size,
            )
    root = store.root_hash(session, size)
    note = signer.sign(Checkpoint(signer.origin, size, root))
    row = LogCheckpoint(tree_size=size, root_hash=root, note=note, kid=signer.kid)
    session.add(row)
    session.flush()
    return SignedCheckpoint.from_row(row, signer.origin)


def append_and_checkpoint(
    runtime: Runtime,
    *,
    chunk: int = APPEND_CHUNK,
    known_leaves: Mapping[int, bytes] | None = None,
) -> SignedCheckpoint:
    """Log every committed event not yet in the tree and sign a checkpoint of the result.

    Idempotent and safe under concurrency (see the module docstring). A long backlog is
    appended ``chunk`` events per transaction; the checkpoint comes with the last one.
    ``known_leaves``: leaf hashes of events the caller just committed (see
    :func:`append_events`).
    """
    keys = LogKeys.of(runtime)
    origin = log_origin(runtime.settings.public_url)
    while True:
        with runtime.db.transaction() as session:
            size = store.lock_log(session)
            new_size = append_events(session, size, chunk, known_leaves)
            if new_size - size < chunk or new_size == last_seq(session):
                return sign_checkpoint(session, keys.signer(session, origin), new_size)


def publish(runtime: Runtime, leaves: Mapping[int, bytes] | None = None) -> None:
    """Bring the log up to the last committed event and sign a checkpoint, never failing.

    For the moment right after a unit of work commits (a batch, a revocation, a key event):
    the events are committed already, so if the log cannot be extended now (say the log key
    is unreadable), the failure is logged loudly and the next call, or `certsvc log
    checkpoint`, catches up — what was committed stays either way. ``leaves``: the leaf
    hashes of the events just committed, by seq, so they need not be read back.
    """
    try:
        append_and_checkpoint(runtime, known_leaves=leaves)
    except (CertsvcError, SQLAlchemyError):
        log.exception("transparency log not extended; run `certsvc log checkpoint`")


def latest_checkpoint(session: Session) -> SignedCheckpoint | None:
    """The newest signed checkpoint, or None before the first."""
    row = _latest_row(session)
    if row is None:
        return None
    key = session.get(LogKey, row.kid)
    assert key is not None  # a foreign key
    return SignedCheckpoint.from_row(row, key.origin)


def transparency_document(session: Session) -> dict[str, Any]:
    """The ``/.well-known/transparency.json`` document: keys, origin and latest checkpoint."""
    keys = session.scalars(select(LogKey).order_by(LogKey.created_at, LogKey.kid)).all()
    latest = latest_checkpoint(session)
    active = next((k for k in keys if k.status == "active"), None)
    return {
        "origin": active.origin if active else (latest.origin if latest else None),
        "hash": "RFC 6962 Merkle tree, SHA-256",
        "leaf_format": 1,
        "checkpoint_format": "https://c2sp.org/tlog-checkpoint",
        "keys": [
            {
                "kid": k.kid,
                "status": k.status,
                "note_key": verifier_key(k.origin, public_key_from_jwk(k.public_jwk)),
                "jwk": {"kty": "OKP", "crv": "Ed25519", "x": k.public_jwk["x"], "kid": k.kid},
                "created_at": k.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            for k in keys
        ],
        "checkpoint": latest.note if latest else None,
        "tree_size": latest.tree_size if latest else 0,
        "root_hash": base64.b64encode(latest.root_hash).decode("ascii") if latest else None,
    }
