"""Proofs for certificates: a certificate's ``issued`` event in the latest checkpoint.

:func:`certificate_inclusion` (and :func:`inclusion_of`, for a verification that read the
facts with the certificate) prove a certificate's ``issued`` event is in the latest signed
checkpoint; :func:`log_position_at` maps a time (a key-compromise cutoff) to a log position.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ScalarSelect, Select, bindparam, func, select
from sqlalchemy.orm import Session, aliased

from certsvc.caches import Caches
from certsvc.errors import CheckpointError, InvalidInput, LogRangeError
from certsvc.i18n import N_
from certsvc.models import Certificate, CertificationBody, Event
from certsvc.models.transparency import LogCheckpoint, LogKey
from certsvc.signing.keys import public_key_from_jwk
from certsvc.transparency import store
from certsvc.transparency.checkpoints import last_seq
from certsvc.transparency.leaf import EventFacts, leaf_data
from certsvc.transparency.merkle import leaf_hash, verify_inclusion
from certsvc.transparency.note import Checkpoint, NoteVerifier, open_checkpoint, verifier_key

__all__ = [
    "InclusionResult",
    "LatestCheckpoint",
    "certificate_inclusion",
    "inclusion_of",
    "issued_event",
    "issued_facts",
    "issued_facts_columns",
    "join_issued_event",
    "latest_checkpoint_columns",
    "latest_of",
    "log_position_at",
]

K = TypeVar("K")
V = TypeVar("V")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class InclusionResult:
    """Proof that a certificate's ``issued`` event is in the latest checkpoint.

    ``to_dict()`` is the offline bundle: with the log's verifier key and the certificate's QR
    token, :func:`certsvc.transparency.offline.verify_bundle` checks it without the service.
    """

    checkpoint: str
    origin: str
    tree_size: int
    root_hash: bytes
    seq: int
    leaf_data: str
    proof: list[bytes]
    log_key: str
    #: The service recomputed the leaf from its records and the proof and signature checked out.
    verified: bool

    @property
    def leaf_index(self) -> int:
        return self.seq - 1

    def to_dict(self) -> dict[str, Any]:
        """JSON form; hashes in standard base64, as in the checkpoint."""
        return {
            "checkpoint": self.checkpoint,
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root_hash": _b64(self.root_hash),
            "seq": self.seq,
            "leaf_index": self.leaf_index,
            "leaf_data": self.leaf_data,
            "leaf_hash": _b64(leaf_hash(self.leaf_data.encode())),
            "proof": [_b64(p) for p in self.proof],
            "log_key": self.log_key,
            "verified": self.verified,
        }


@dataclass(frozen=True)
class OpenedCheckpoint:
    """A stored checkpoint with its log key, and what its signature says (None: it fails)."""

    tree_size: int
    root_hash: bytes
    note: str
    verifier: NoteVerifier
    signed: Checkpoint | None

    @functools.cached_property
    def log_key(self) -> str:
        """The verifier key in C2SP note form, as each inclusion result names it."""
        return verifier_key(self.verifier.name, self.verifier.public_key)


def _checkpoint(session: Session, latest: LatestCheckpoint, caches: Caches) -> OpenedCheckpoint:
    """The stored checkpoint ``latest`` with its signature checked (cached)."""
    cached = caches.checkpoints.get(latest)
    if cached is not None:
        return cached
    row = session.get(LogCheckpoint, latest[0])
    if row is None:
        raise LogRangeError(N_("no checkpoint of tree size {latest} is stored"), latest=latest[0])
    key = session.get(LogKey, row.kid)
    assert key is not None  # a foreign key
    verifier = NoteVerifier.of(key.origin, public_key_from_jwk(key.public_jwk))
    try:
        signed: Checkpoint | None = open_checkpoint(row.note, [verifier], verifier.name)
    except CheckpointError:
        signed = None
    opened = OpenedCheckpoint(row.tree_size, bytes(row.root_hash), row.note, verifier, signed)
    caches.checkpoints.put((row.tree_size, row.note), opened)
    return opened


def _proof(session: Session, seq: int, checkpoint: OpenedCheckpoint, caches: Caches) -> list[bytes]:
    key = (checkpoint.root_hash, checkpoint.tree_size, seq)
    cached = caches.proofs.get(key)
    if cached is None:
        cached = tuple(store.inclusion_proof(session, seq, checkpoint.tree_size, size_known=True))
        caches.proofs.put(key, cached)
    return list(cached)


#: The newest checkpoint as (tree size, note); see :func:`latest_checkpoint_columns`.
LatestCheckpoint = tuple[int, str]


def latest_checkpoint_columns() -> tuple[ScalarSelect[Any], ScalarSelect[Any]]:
    """The newest checkpoint's tree size and note, as subqueries of the same statement.

    Reading them with the certificate saves a round trip per verification; both are index
    probes of the checkpoints' primary key.
    """
    newest = select(func.max(LogCheckpoint.tree_size)).scalar_subquery()
    note = select(LogCheckpoint.note).where(LogCheckpoint.tree_size == newest)
    return newest, note.scalar_subquery()


def latest_of(size: int | None, note: str | None) -> LatestCheckpoint | None:
    """The two :func:`latest_checkpoint_columns` as read; None before the first checkpoint."""
    return None if size is None or note is None else (int(size), note)


def issued_facts_columns() -> tuple[Any, ...]:
    """The columns :func:`issued_facts` reads, for a query that joins ``issued_event``."""
    return (
        issued_event.seq,
        issued_event.occurred_at,
        issued_event.data,
        _event_body.code,
    )


#: The ``issued`` event of a certificate, and the body that event names, for joining.
issued_event = aliased(Event, name="issued_event")
_event_body = aliased(CertificationBody, name="issued_event_body")


def join_issued_event(statement: Select[Any]) -> Select[Any]:
    """``statement`` (over certificates) joined to each certificate's ``issued`` event."""
    return statement.outerjoin(
        issued_event,
        (issued_event.certificate_id == Certificate.id) & (issued_event.kind == "issued"),
    ).outerjoin(_event_body, _event_body.id == issued_event.body_id)


def issued_facts(row: Any, number: str, token: str, record: str) -> EventFacts | None:
    """The leaf facts of a certificate's ``issued`` event from :func:`issued_facts_columns`."""
    seq, occurred_at, data, body_code = row
    if seq is None:
        return None
    return EventFacts(
        seq=int(seq),
        kind="issued",
        occurred_at=occurred_at,
        data=data or {},
        body_code=body_code,
        certificate_number=number,
        token=token,
        record=record,
    )


def inclusion_of(
    session: Session, facts: EventFacts, latest: LatestCheckpoint | None, caches: Caches
) -> InclusionResult | None:
    """The inclusion proof of an ``issued`` event in the newest checkpoint, ``latest``.

    ``latest`` is read with the facts (see :func:`latest_checkpoint_columns`); None when no
    checkpoint covers the event yet. ``verified`` is False when the leaf recomputed from
    today's records, the proof and the signed checkpoint disagree — the records or the log
    were changed after logging. Opened checkpoints and proofs are kept in ``caches`` (the
    service's :attr:`~certsvc.runtime.Runtime.caches`).
    """
    if latest is None or facts.seq > latest[0]:
        return None
    checkpoint = _checkpoint(session, latest, caches)
    proof = _proof(session, facts.seq, checkpoint, caches)
    data = leaf_data(facts)
    signed = checkpoint.signed
    verified = (
        signed is not None
        and signed.size == checkpoint.tree_size
        and verify_inclusion(leaf_hash(data), facts.seq - 1, signed.size, proof, signed.root_hash)
    )
    return InclusionResult(
        checkpoint=checkpoint.note,
        origin=checkpoint.verifier.name,
        tree_size=checkpoint.tree_size,
        root_hash=checkpoint.root_hash,
        seq=facts.seq,
        leaf_data=data.decode(),
        proof=proof,
        log_key=checkpoint.log_key,
        verified=verified,
    )


@functools.cache
def _inclusion_query() -> Select[Any]:
    """The statement of :func:`certificate_inclusion`, built once; parameter ``number``."""
    return join_issued_event(
        select(
            Certificate.number,
            Certificate.token,
            Certificate.record,
            *latest_checkpoint_columns(),
            *issued_facts_columns(),
        )
    ).where(Certificate.number == bindparam("number"))


def certificate_inclusion(
    session: Session, certificate_number: str, caches: Caches | None = None
) -> InclusionResult | None:
    """The inclusion proof of a certificate's issuance in the latest checkpoint.

    None when there is no such certificate or no checkpoint covers its ``issued`` event yet
    (it was issued after the last checkpoint). See :func:`inclusion_of`; without ``caches``
    (a one-off call, e.g. from the CLI) nothing is kept for the next call.
    """
    row = session.execute(_inclusion_query(), {"number": certificate_number}).first()
    if row is None:
        return None
    number, token, record, size, note, *event = row
    facts = issued_facts(event, number, token, record)
    if facts is None:
        return None
    return inclusion_of(session, facts, latest_of(size, note), caches or Caches())


def log_position_at(session: Session, when: dt.datetime) -> int:
    """The largest tree size whose events all occurred at or before ``when``.

    Event times are not strictly ordered by seq (a batch takes its time before its seqs), so
    this is the seq before the first event that occurred after ``when``, or the last seq when
    none did. A certificate whose ``issued`` event has ``seq <= log_position_at(cutoff)`` was
    logged before the cutoff.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidInput(N_("the time needs a time zone, e.g. 2026-11-26T08:00Z"))
    first_after = session.scalar(select(func.min(Event.seq)).where(Event.occurred_at > when))
    if first_after is None:
        return last_seq(session)
    return int(first_after) - 1
