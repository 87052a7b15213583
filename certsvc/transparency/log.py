"""The issuance transparency log as a service: grow it, sign checkpoints, prove certificates.

* :func:`append_and_checkpoint` brings the Merkle tree up to the last committed event and signs
  a checkpoint for the new size. Call it after a unit of work commits (after each batch, each
  revocation, or from cron via ``certsvc log checkpoint``). It is idempotent — with nothing new
  it returns the latest checkpoint — and safe to run concurrently: writers queue on the log
  lock (:func:`certsvc.transparency.store.lock_log`) and the second finds the work done.
* :func:`certificate_inclusion` proves a certificate's ``issued`` event is in the latest
  checkpoint, for the verification result.
* :func:`log_position_at` maps a time (a key-compromise cutoff) to a log position.
* :func:`audit` recomputes every leaf from the event log and checks every stored checkpoint.

The log key is an Ed25519 key of its own, separate from the bodies' keys, stored like them as
encrypted PKCS#8 in ``keys/<kid>.pem`` under ``CERTSVC_KEY_PASSPHRASE`` and published with the
log's origin in ``/.well-known/transparency.json``. The first append creates it.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import ScalarSelect, Select, bindparam, func, select
from sqlalchemy.orm import Session, aliased

from certsvc.errors import (
    CheckpointError,
    InvalidInput,
    LogIntegrityError,
    LogRangeError,
    SigningKeyError,
)
from certsvc.models import Certificate, CertificationBody, Event, EventLogHead, utcnow
from certsvc.models.transparency import LogCheckpoint, LogKey, MerkleNode
from certsvc.runtime import Runtime
from certsvc.signing.keys import (
    KeyFiles,
    decrypt_private_key,
    encrypt_private_key,
    generate_private_key,
    jwk_thumbprint,
    public_jwk,
    public_key_from_jwk,
)
from certsvc.transparency import store
from certsvc.transparency.leaf import EventFacts, leaf_data, leaf_hash_of
from certsvc.transparency.merkle import (
    EMPTY_ROOT,
    NodeId,
    extend,
    leaf_hash,
    resolve,
    verify_inclusion,
)
from certsvc.transparency.note import (
    Checkpoint,
    NoteVerifier,
    format_checkpoint,
    open_checkpoint,
    sign_note,
    verifier_key,
)

__all__ = [
    "APPEND_CHUNK",
    "InclusionResult",
    "LogKeys",
    "LogSigner",
    "SignedCheckpoint",
    "append_and_checkpoint",
    "append_events",
    "audit",
    "certificate_inclusion",
    "latest_checkpoint",
    "log_origin",
    "log_position_at",
    "sign_checkpoint",
    "transparency_document",
]

log = logging.getLogger("certsvc.transparency")

K = TypeVar("K")
V = TypeVar("V")

#: Events appended per transaction when catching up on a long backlog.
APPEND_CHUNK = 20_000
#: Event rows read per SELECT while appending.
_FETCH_ROWS = 2_000


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def log_origin(public_url: str) -> str:
    """The log origin for a service at ``public_url``, schema-less: ``cert.example.cn/log``."""
    parts = urlsplit(public_url)
    origin = f"{parts.netloc}{parts.path.rstrip('/')}/log"
    if not parts.netloc or any(c.isspace() or c == "+" for c in origin):
        raise InvalidInput(f"cannot name a transparency log after {public_url!r}")
    return origin


# --- the log key ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogSigner:
    """The unlocked log key: signs checkpoints of the log ``origin``."""

    kid: str
    origin: str
    key: Ed25519PrivateKey

    def sign(self, checkpoint: Checkpoint) -> str:
        """The signed note of ``checkpoint``."""
        return sign_note(format_checkpoint(checkpoint), self.origin, self.key)


class LogKeys:
    """The log's signing keys over the ``log_keys`` table and the key directory."""

    def __init__(self, files: KeyFiles, passphrase: bytes) -> None:
        self._files = files
        self._passphrase = passphrase

    @classmethod
    def of(cls, runtime: Runtime) -> LogKeys:
        """The log keys of a running certsvc (same directory and passphrase as body keys)."""
        return cls(KeyFiles(runtime.settings.key_dir), runtime.settings.key_passphrase)

    def active(self, session: Session) -> LogKey | None:
        """The key that signs new checkpoints, if one was made."""
        return session.scalar(select(LogKey).where(LogKey.status == "active"))

    def create(self, session: Session, origin: str) -> LogKey:
        """Make the log key (refused if one is active: use :meth:`rotate`)."""
        if self.active(session) is not None:
            raise SigningKeyError("the transparency log already has an active key")
        private = generate_private_key()
        jwk = public_jwk(private.public_key())
        kid = jwk_thumbprint(jwk)
        NoteVerifier.of(origin, private.public_key())  # the origin must be a valid key name
        self._files.write(kid, encrypt_private_key(private, self._passphrase))
        key = LogKey(kid=kid, origin=origin, public_jwk=dict(jwk), status="active")
        session.add(key)
        session.flush()
        log.info("created transparency log key %s for %s", kid, origin)
        return key

    def rotate(self, session: Session) -> LogKey:
        """Retire the active key (its checkpoints stay verifiable) and make a new one."""
        old = self.active(session)
        if old is None:
            raise SigningKeyError("the transparency log has no key to rotate; run an append")
        old.status = "retired"
        old.retired_at = utcnow()
        session.flush()
        return self.create(session, old.origin)

    def signer(self, session: Session, origin: str) -> LogSigner:
        """Unlock the active key, creating the log key under ``origin`` on first use."""
        key = self.active(session) or self.create(session, origin)
        private = decrypt_private_key(self._files.read(key.kid), self._passphrase)
        if jwk_thumbprint(public_jwk(private.public_key())) != key.kid:
            raise SigningKeyError(f"key file {key.kid}.pem does not hold the log key {key.kid}")
        return LogSigner(key.kid, key.origin, private)


def _verifiers(session: Session) -> list[NoteVerifier]:
    keys = session.scalars(select(LogKey)).all()
    return [NoteVerifier.of(k.origin, public_key_from_jwk(k.public_jwk)) for k in keys]


# --- growing the log -----------------------------------------------------------------------------


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


def _facts(session: Session, first: int, last: int) -> Iterator[EventFacts]:
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


def _last_seq(session: Session) -> int:
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
    committed gap-free in order (:mod:`certsvc.models.events`), so the events after ``size`` that
    are visible now are exactly ``size + 1 … head``; a hole means rows were deleted.

    ``known`` maps seqs to the leaf hashes of events the caller has just committed and
    computed from the very values it wrote (:func:`certsvc.issuance.service.issue_batch`);
    those events are only counted, not read back. Every other event is read and hashed here.
    """
    known = known or {}
    last = min(_last_seq(session), size + limit)
    for first in range(size + 1, last + 1, _FETCH_ROWS):
        stop = min(first + _FETCH_ROWS - 1, last)
        seqs = range(first, stop + 1)
        if all(seq in known for seq in seqs):
            present = _count_events(session, first, stop) == len(seqs)
            leaves = [known[seq] for seq in seqs]
        else:
            facts = list(_facts(session, first, stop))
            present = [f.seq for f in facts] == list(seqs)
            leaves = [leaf_hash_of(f) for f in facts]
        if not present:
            raise LogIntegrityError(
                f"the event log has a hole after seq {size}: events were deleted, so the "
                "transparency log cannot grow — restore the events table from a backup"
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
                f"the stored Merkle tree no longer matches checkpoint {latest.tree_size}: "
                "merkle_nodes was changed — nothing is signed until it is restored"
            )
        if latest.tree_size == size:
            return SignedCheckpoint.from_row(latest, signer.origin)
        if latest.tree_size > size:
            raise LogIntegrityError(
                f"checkpoint {latest.tree_size} is ahead of the log ({size} events)"
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
            if new_size - size < chunk or new_size == _last_seq(session):
                return sign_checkpoint(session, keys.signer(session, origin), new_size)


def latest_checkpoint(session: Session) -> SignedCheckpoint | None:
    """The newest signed checkpoint, or None before the first."""
    row = _latest_row(session)
    if row is None:
        return None
    key = session.get(LogKey, row.kid)
    assert key is not None  # a foreign key
    return SignedCheckpoint.from_row(row, key.origin)


# --- proofs for certificates ---------------------------------------------------------------------


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


class _Lru(Generic[K, V]):
    """A small thread-safe least-recently-used map (gunicorn's gthread workers share one)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


@dataclass(frozen=True)
class _OpenedCheckpoint:
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


#: Checkpoints by (tree size, note), their signatures checked once: every verification of a
#: certificate opens the latest checkpoint, which changes only once per batch. Keyed by the
#: note as stored, so a note changed in the database is opened (and fails) afresh.
_CHECKPOINTS: _Lru[tuple[int, str], _OpenedCheckpoint] = _Lru(64)
#: Inclusion proofs by (root hash, tree size, seq). A root hash names one tree, and the audit
#: path of a leaf in it never changes, so a proof read once is reused until a newer checkpoint
#: becomes the latest (keyed by the root, not the size alone, so that two databases in one
#: process never share one). The leaf itself is recomputed from today's records on every
#: verification.
_PROOFS: _Lru[tuple[bytes, int, int], tuple[bytes, ...]] = _Lru(16_384)


def _checkpoint(session: Session, latest: LatestCheckpoint) -> _OpenedCheckpoint:
    """The stored checkpoint ``latest`` with its signature checked (cached)."""
    cached = _CHECKPOINTS.get(latest)
    if cached is not None:
        return cached
    row = session.get(LogCheckpoint, latest[0])
    if row is None:
        raise LogRangeError(f"no checkpoint of tree size {latest[0]} is stored")
    key = session.get(LogKey, row.kid)
    assert key is not None  # a foreign key
    verifier = NoteVerifier.of(key.origin, public_key_from_jwk(key.public_jwk))
    try:
        signed: Checkpoint | None = open_checkpoint(row.note, [verifier], verifier.name)
    except CheckpointError:
        signed = None
    opened = _OpenedCheckpoint(row.tree_size, bytes(row.root_hash), row.note, verifier, signed)
    _CHECKPOINTS.put((row.tree_size, row.note), opened)
    return opened


def _proof(session: Session, seq: int, checkpoint: _OpenedCheckpoint) -> list[bytes]:
    key = (checkpoint.root_hash, checkpoint.tree_size, seq)
    cached = _PROOFS.get(key)
    if cached is None:
        cached = tuple(store.inclusion_proof(session, seq, checkpoint.tree_size, size_known=True))
        _PROOFS.put(key, cached)
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
    session: Session, facts: EventFacts, latest: LatestCheckpoint | None
) -> InclusionResult | None:
    """The inclusion proof of an ``issued`` event in the newest checkpoint, ``latest``.

    ``latest`` is read with the facts (see :func:`latest_checkpoint_columns`); None when no
    checkpoint covers the event yet. ``verified`` is False when the leaf recomputed from
    today's records, the proof and the signed checkpoint disagree — the records or the log
    were changed after logging.
    """
    if latest is None or facts.seq > latest[0]:
        return None
    checkpoint = _checkpoint(session, latest)
    proof = _proof(session, facts.seq, checkpoint)
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


def certificate_inclusion(session: Session, certificate_number: str) -> InclusionResult | None:
    """The inclusion proof of a certificate's issuance in the latest checkpoint.

    None when there is no such certificate or no checkpoint covers its ``issued`` event yet
    (it was issued after the last checkpoint). See :func:`inclusion_of`.
    """
    row = session.execute(_inclusion_query(), {"number": certificate_number}).first()
    if row is None:
        return None
    number, token, record, size, note, *event = row
    facts = issued_facts(event, number, token, record)
    return None if facts is None else inclusion_of(session, facts, latest_of(size, note))


def log_position_at(session: Session, when: dt.datetime) -> int:
    """The largest tree size whose events all occurred at or before ``when``.

    Event times are not strictly ordered by seq (a batch takes its time before its seqs), so
    this is the seq before the first event that occurred after ``when``, or the last seq when
    none did. A certificate whose ``issued`` event has ``seq <= log_position_at(cutoff)`` was
    logged before the cutoff.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidInput("the time needs a time zone, e.g. 2026-11-26T08:00Z")
    first_after = session.scalar(select(func.min(Event.seq)).where(Event.occurred_at > when))
    if first_after is None:
        return _last_seq(session)
    return int(first_after) - 1


# --- audit and publication -----------------------------------------------------------------------


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
    verifiers = _verifiers(session)
    checkpoints = list(session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.tree_size)))
    origins = {k.kid: k.origin for k in session.scalars(select(LogKey))}
    frontier: list[tuple[NodeId, bytes]] = []
    done = 0
    # Stop at every checkpoint size, so its root is the fold of the frontier there.
    stops = sorted({c.tree_size for c in checkpoints if c.tree_size <= size} | {size})
    for stop in stops:
        while done < stop:
            last = min(done + batch, stop)
            facts = list(_facts(session, done + 1, last))
            if [f.seq for f in facts] != list(range(done + 1, last + 1)):
                raise LogIntegrityError(f"events between {done + 1} and {last} were deleted")
            created, frontier = extend(frontier, done, [leaf_hash_of(f) for f in facts])
            stored = _stored_nodes(session, created)
            for node, value in created:
                if stored.get(node) != value:
                    if node[0] == 0:
                        raise LogIntegrityError(
                            f"event {node[1] + 1} differs from what was logged: its row, or its "
                            "certificate's token or record, was changed after logging"
                        )
                    raise LogIntegrityError(f"stored Merkle node {node} was altered")
            done = last
        root = resolve([[n for n, _ in frontier]], dict(frontier))[0] if frontier else EMPTY_ROOT
        for row in (c for c in checkpoints if c.tree_size == stop):
            signed = open_checkpoint(row.note, verifiers, origins[row.kid])
            if signed.size != stop or not signed.root_hash == root == bytes(row.root_hash):
                raise LogIntegrityError(
                    f"checkpoint {stop} does not match the event log: the history was rewritten"
                )
    if checkpoints and checkpoints[-1].tree_size > size:
        raise LogIntegrityError(f"checkpoint {checkpoints[-1].tree_size} is ahead of the log")
    return size


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
        "root_hash": _b64(latest.root_hash) if latest else None,
    }
