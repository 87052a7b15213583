"""Issuing a batch: validate all, then number, sign and store every certificate in one transaction.

The order of work inside the transaction matters:

1. a batch with the same idempotency key or the same content returns the stored result;
2. every row is validated (:mod:`certsvc.issuance.validate`); any error rejects the batch whole;
3. serials are taken from ``number_sequences`` with one ``INSERT … ON CONFLICT DO UPDATE …
   RETURNING`` per (year, level): the counter row stays locked until commit, so concurrent
   batches of one body queue on it and a rolled-back batch gives its serials back — numbers are
   gap-free and never repeat;
4. both signed forms are made, and holders, certificates and events are written in bulk.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, BigInteger, Row, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from certsvc.db import bulk_insert, insert_ignoring_conflicts, one_of
from certsvc.domain.ids import IdType, mask_id_number, redact_id_numbers
from certsvc.domain.levels import Level
from certsvc.domain.numbers import MAX_SERIAL, CertificateNumber, parse_body_code
from certsvc.errors import (
    BatchRejected,
    BodySuspended,
    CertsvcError,
    Conflict,
    InvalidInput,
    NotFound,
    RowError,
)
from certsvc.holders.identity import id_commitment
from certsvc.issuance.credential import CertifiedFacts, credential_payload, qr_payload
from certsvc.issuance.validate import CertificateRequest, check_visible, validate_rows
from certsvc.models import (
    Batch,
    Certificate,
    CertificationBody,
    Event,
    Holder,
    NumberSequence,
    UTCDateTime,
    utcnow,
)
from certsvc.models.events import reserve
from certsvc.registry.statements import sign_status_statement, status_statement
from certsvc.runtime import Runtime
from certsvc.signing.jws import JwsSigner, SigningJob
from certsvc.signing.vc import VC_CTY, VC_JWT_TYP
from certsvc.transparency.leaf import EventFacts, leaf_hash_of
from certsvc.transparency.log import append_and_checkpoint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedCertificate:
    row: int
    number: str
    holder_name: str
    token: str


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    certificates: list[IssuedCertificate]
    #: True when this submission repeated an earlier one and nothing new was issued.
    replayed: bool = False
    superseded: list[str] = field(default_factory=list)


def content_hash(rows: Sequence[tuple[int, Mapping[str, str]]]) -> str:
    """SHA-256 of rows submitted through the API (files are hashed as bytes)."""
    canonical = json.dumps([dict(v) for _, v in rows], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class _Submission:
    """One batch as submitted: its rows, where they came from, how to recognise a repeat."""

    body_code: str
    rows: Sequence[tuple[int, Mapping[str, str]]]
    source: str
    content_sha256: str
    filename: str
    idempotency_key: str | None
    actor: str
    read_errors: Sequence[RowError]


def issue_batch(
    runtime: Runtime,
    body_code: str,
    rows: Sequence[tuple[int, Mapping[str, str]]],
    *,
    source: str,
    content_sha256: str,
    filename: str = "",
    idempotency_key: str | None = None,
    actor: str = "",
    read_errors: Sequence[RowError] = (),
    progress: Callable[[int], None] | None = None,
) -> BatchResult:
    """Issue every row or none. Raises BatchRejected with all row errors when any row fails.

    After the batch commits, the transparency log is extended to cover it and a new
    checkpoint is signed (:func:`publish`).
    """
    submission = _Submission(
        body_code, rows, source, content_sha256, filename, idempotency_key, actor, read_errors
    )
    result, leaves = _issue_once(runtime, submission, progress)
    if not result.replayed:
        publish(runtime, leaves)
    return result


def publish(runtime: Runtime, leaves: Mapping[int, bytes] | None = None) -> None:
    """Bring the transparency log up to the last committed event and sign a checkpoint.

    The events are committed already; if the log cannot be extended now (say the log key
    is unreadable), the failure is logged loudly and the next call, or `certsvc log
    checkpoint`, catches up — the certificates stay issued either way. ``leaves``: the leaf
    hashes of the events just committed, by seq, so they need not be read back.
    """
    try:
        append_and_checkpoint(runtime, known_leaves=leaves)
    except (CertsvcError, SQLAlchemyError):
        log.exception("transparency log not extended; run `certsvc log checkpoint`")


def _issue_once(
    runtime: Runtime, sub: _Submission, progress: Callable[[int], None] | None
) -> tuple[BatchResult, dict[int, bytes]]:
    try:
        with runtime.db.transaction() as session:
            return _issue(runtime, session, sub, progress)
    except IntegrityError as exc:
        # A concurrent submission of the same batch won the race, or another batch certified
        # the same person meanwhile. Answer the first from the stored batch.
        with runtime.db.transaction() as session:
            body = _body(session, sub.body_code)
            replay = _find_replay(session, body, sub.content_sha256, sub.idempotency_key)
            if replay is not None:
                return replay, {}
        raise Conflict(
            "another batch issued a conflicting certificate at the same time; nothing from "
            "this batch was issued — submit it again to see which rows are affected"
        ) from exc


def _issue(
    runtime: Runtime,
    session: Session,
    sub: _Submission,
    progress: Callable[[int], None] | None,
) -> tuple[BatchResult, dict[int, bytes]]:
    """The batch's result and the leaf hashes of the events it wrote (see :func:`_store`)."""
    body = _body(session, sub.body_code)
    replay = _find_replay(session, body, sub.content_sha256, sub.idempotency_key)
    if replay is not None:
        return replay, {}
    if body.status != "active":
        raise BodySuspended(
            f"body {body.code} is suspended and may not issue; an operator must reactivate it"
        )
    if not sub.rows and not sub.read_errors:
        raise BatchRejected([RowError(1, "", "the batch has no rows")])
    requests, errors = validate_rows(session, body, sub.rows, runtime.vault)
    errors = [*sub.read_errors, *errors]
    if errors:
        raise BatchRejected(sorted(errors, key=lambda e: (e.row, e.column)))

    signer = runtime.keyring.signer_for(session, body)
    batch = Batch(
        id=uuid.uuid4().hex,
        body_id=body.id,
        source=sub.source,
        filename=redact_id_numbers(sub.filename)[:255],
        content_sha256=sub.content_sha256,
        idempotency_key=sub.idempotency_key,
        row_count=len(requests),
        created_by=sub.actor,
    )
    session.add(batch)
    session.flush()

    numbers = _allocate_numbers(session, runtime, body, requests)
    holders = _holders(session, runtime, requests)
    superseded = _supersede(session, requests, numbers, sub.actor)
    issued, leaves = _store(
        session, runtime, body, batch, signer, requests, numbers, holders, sub.actor, progress
    )
    return BatchResult(batch.id, issued, superseded=superseded), leaves


def _body(session: Session, body_code: str) -> CertificationBody:
    body = session.scalar(select(CertificationBody).where(CertificationBody.code == body_code))
    if body is None:
        raise NotFound(f"no certification body with code {body_code}; `certsvc body list`")
    return body


def _find_replay(
    session: Session, body: CertificationBody, content_sha256: str, idempotency_key: str | None
) -> BatchResult | None:
    """The stored result of an earlier identical submission, if there is one."""
    batch = None
    if idempotency_key:
        batch = session.scalar(
            select(Batch).where(Batch.body_id == body.id, Batch.idempotency_key == idempotency_key)
        )
        if batch is not None and batch.content_sha256 != content_sha256:
            raise Conflict(
                f"idempotency key {idempotency_key!r} was used for a different batch; "
                "use a new key for new content"
            )
    if batch is None:
        batch = session.scalar(
            select(Batch).where(Batch.body_id == body.id, Batch.content_sha256 == content_sha256)
        )
    if batch is None:
        return None
    certs = session.scalars(
        select(Certificate).where(Certificate.batch_id == batch.id).order_by(Certificate.batch_row)
    ).all()
    return BatchResult(
        batch.id,
        [IssuedCertificate(c.batch_row, c.number, c.holder_name, c.token) for c in certs],
        replayed=True,
    )


def _upsert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _allocate_numbers(
    session: Session,
    runtime: Runtime,
    body: CertificationBody,
    requests: list[CertificateRequest],
) -> dict[int, str]:
    """Row → certificate number, serials in row order per (year, level)."""
    groups: dict[tuple[int, Level], list[CertificateRequest]] = defaultdict(list)
    for r in requests:
        groups[(r.issue_date.year, r.level)].append(r)
    body_code = parse_body_code(body.code, runtime.settings.extra_provinces)
    insert_ = _upsert(session)
    numbers: dict[int, str] = {}
    # A fixed order of counter rows keeps two batches of one body from deadlocking.
    for (year, level), members in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1].rank)):
        stmt = insert_(NumberSequence).values(
            body_id=body.id, year=year, level=level.code, last_serial=len(members)
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["body_id", "year", "level"],
            set_={"last_serial": NumberSequence.last_serial + stmt.excluded.last_serial},
        ).returning(NumberSequence.last_serial)
        last = int(session.execute(stmt).scalar_one())
        if last > MAX_SERIAL:
            raise Conflict(
                f"certificate serials for {body.code}, {year}, {level.printed_zh} are used up "
                f"(the number format allows {MAX_SERIAL:,} a year)"
            )
        first = last - len(members) + 1
        for offset, r in enumerate(members):
            number = CertificateNumber(body_code, year % 100, level, first + offset)
            numbers[r.row] = number.format(runtime.special_letters)
    return numbers


@dataclass(frozen=True)
class _HolderRef:
    id: int
    salt: bytes


def _holders(
    session: Session, runtime: Runtime, requests: list[CertificateRequest]
) -> dict[tuple[str, str], _HolderRef]:
    """Holder rows for every person in the batch, creating the missing holders.

    Concurrent batches may create the same holder at once; ``ON CONFLICT DO NOTHING`` lets
    both go on and the follow-up read finds the one row.
    """
    wanted = {(r.id_type.value, r.id_digest): r for r in requests}
    found: dict[tuple[str, str], _HolderRef] = {}
    columns = (Holder.id_type, Holder.id_hash, Holder.id, Holder.id_salt)

    def remember(rows: Iterable[Row[Any]]) -> None:
        rows = list(rows)
        salts = runtime.vault.open_salts(
            (IdType(row.id_type), row.id_hash, row.id_salt) for row in rows
        )
        for row, salt in zip(rows, salts, strict=True):
            found[(row.id_type, row.id_hash)] = _HolderRef(row.id, salt)

    digests = [digest for _, digest in wanted]
    for start in range(0, len(digests), 1000):
        chunk = digests[start : start + 1000]
        remember(session.execute(select(*columns).where(one_of(session, Holder.id_hash, chunk))))
    missing = [
        runtime.vault.protect(r.id_type, r.id_number) for k, r in wanted.items() if k not in found
    ]
    if not missing:
        return found
    now = utcnow()
    rows = [
        {
            "id_type": p.id_type.value,
            "id_hash": p.digest,
            "id_ciphertext": p.ciphertext,
            "id_masked": p.masked,
            "id_salt": p.sealed_salt,
            "created_at": now,
        }
        for p in missing
    ]
    remember(insert_ignoring_conflicts(session, Holder, rows, ["id_hash", "id_type"], columns))
    if len(found) < len(wanted):  # created meanwhile by a concurrent batch
        late = [d for (t, d) in wanted if (t, d) not in found]
        remember(session.execute(select(*columns).where(one_of(session, Holder.id_hash, late))))
    return found


def _supersede(
    session: Session, requests: list[CertificateRequest], numbers: dict[int, str], actor: str
) -> list[str]:
    """Mark corrected certificates superseded (before the new ones exist: one valid at a time)."""
    superseded: list[str] = []
    now = utcnow()
    for r in requests:
        if r.corrects is None:
            continue
        changed = session.execute(
            update(Certificate)
            .where(Certificate.id == r.corrects.id, Certificate.status == "valid")
            .values(
                status="superseded",
                status_reason=f"corrected by {numbers[r.row]}",
                status_changed_at=now,
                updated_at=now,
            )
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(f"certificate {r.corrects.number} changed while this batch was issued")
        superseded.append(r.corrects.number)
    return superseded


def _store(
    session: Session,
    runtime: Runtime,
    body: CertificationBody,
    batch: Batch,
    signer: JwsSigner,
    requests: list[CertificateRequest],
    numbers: dict[int, str],
    holders: dict[tuple[str, str], _HolderRef],
    actor: str,
    progress: Callable[[int], None] | None,
) -> tuple[list[IssuedCertificate], dict[int, bytes]]:
    """Sign and store the certificates and their events.

    Returns the issued certificates and the transparency-log leaf hash of every event
    written, by seq, made from the values written (for :func:`publish`).
    """
    public_url = runtime.settings.public_url
    now = utcnow()
    issued: list[IssuedCertificate] = []
    records: list[str] = []

    # Made as the signer asks for the next payloads, so the helper threads start signing
    # after the first chunk rather than after the whole batch's facts.
    facts: list[CertifiedFacts] = []

    def jobs() -> Iterator[SigningJob]:
        for r in requests:
            salt = holders[(r.id_type.value, r.id_digest)].salt
            f = facts_for(r, numbers[r.row], body, salt)
            facts.append(f)
            yield qr_payload(f), None, None
            yield credential_payload(f, public_url), VC_JWT_TYP, VC_CTY

    tokens = signer.sign_all(jobs())

    def certificate_rows() -> Iterator[dict[str, Any]]:
        # Generators all the way: on PostgreSQL each row is streamed to COPY as soon as it
        # is signed, while the next payloads are signed on the signer's helper threads.
        for index, r in enumerate(requests):
            token, record = next(tokens), next(tokens)
            f = facts[index]  # made before its payloads could be signed
            yield {
                "number": f.number,
                "body_id": body.id,
                "batch_id": batch.id,
                "batch_row": r.row,
                "holder_id": holders[(r.id_type.value, r.id_digest)].id,
                "holder_name": r.holder_name,
                "employer_uscc": r.employer_uscc,
                "employer_name": r.employer_name,
                "occupation_code": r.occupation.code,
                "work_type": r.work_type,
                "level": r.level.code,
                "issue_date": r.issue_date,
                "route": r.route.value,
                "direct_ground": r.direct_ground.value if r.direct_ground else None,
                "direct_evidence": r.direct_evidence,
                "status": "valid",
                "status_reason": "",
                "supersedes_id": r.corrects.id if r.corrects else None,
                "kid": signer.kid,
                "token": token,
                "record": record,
                "created_at": now,
                "updated_at": now,
            }
            issued.append(IssuedCertificate(r.row, f.number, r.holder_name, token))
            records.append(record)
            if progress is not None and len(issued) % 100 == 0:
                progress(100)
        if progress is not None and len(issued) % 100:
            progress(len(issued) % 100)

    bulk_insert(session, Certificate, certificate_rows())
    # Events last: reserving seqs locks the log head until commit (see certsvc.models.events).
    corrections = [r for r in requests if r.corrects is not None]
    # Each supersession is signed (a status statement the registry verifies), before the seqs
    # are reserved so the log head stays locked no longer than it must.
    superseded_data = [
        {
            "number": r.corrects.number,
            "superseded_by": numbers[r.row],
            "kid": signer.kid,
            "record": sign_status_statement(
                signer,
                status_statement(
                    number=r.corrects.number,
                    body_code=body.code,
                    status="superseded",
                    reason=f"corrected by {numbers[r.row]}",
                    at=now,
                    public_url=public_url,
                    superseded_by=numbers[r.row],
                ),
            ),
        }
        for r in corrections
        if r.corrects is not None
    ]
    first = reserve(session, len(corrections) + len(requests))
    if corrections:
        session.execute(
            insert(Event),
            [
                {
                    "seq": first + offset,
                    "kind": "superseded",
                    "body_id": body.id,
                    "certificate_id": r.corrects.id,
                    "batch_id": batch.id,
                    "actor": actor,
                    "data": data,
                    "occurred_at": now,
                }
                for offset, (r, data) in enumerate(zip(corrections, superseded_data, strict=True))
                if r.corrects is not None
            ],
        )
    # One "issued" event per certificate, in row order, written by the database itself.
    position = func.row_number().over(order_by=Certificate.batch_row)
    issued_events = select(
        literal(first + len(corrections) - 1, BigInteger()) + position,
        literal("issued"),
        Certificate.body_id,
        Certificate.id,
        Certificate.batch_id,
        literal(actor),
        literal({"kid": signer.kid}, JSON()),
        literal(now, UTCDateTime()),
    ).where(Certificate.batch_id == batch.id)
    session.execute(
        insert(Event).from_select(
            [
                "seq",
                "kind",
                "body_id",
                "certificate_id",
                "batch_id",
                "actor",
                "data",
                "occurred_at",
            ],
            issued_events,
        )
    )
    leaves = {
        first + offset: leaf_hash_of(
            EventFacts(first + offset, "superseded", now, data, body.code, data["number"])
        )
        for offset, data in enumerate(superseded_data)
    }
    # The issued events are numbered in batch_row order (row_number() above).
    in_row_order = sorted(zip(issued, records, strict=True), key=lambda ir: ir[0].row)
    if len({c.row for c in issued}) == len(issued):  # else the order is the database's
        first_issued = first + len(corrections)
        issued_data = {"kid": signer.kid}
        for offset, (cert, record) in enumerate(in_row_order):
            seq = first_issued + offset
            event = EventFacts(
                seq, "issued", now, issued_data, body.code, cert.number, cert.token, record
            )
            leaves[seq] = leaf_hash_of(event)
    return issued, leaves


def facts_for(
    r: CertificateRequest, number: str, body: CertificationBody, id_salt: bytes
) -> CertifiedFacts:
    return CertifiedFacts(
        number=number,
        holder_name=r.holder_name,
        id_type=r.id_type,
        id_masked=mask_id_number(r.id_number),
        id_commitment=id_commitment(r.id_type, r.id_number, id_salt),
        employer_uscc=r.employer_uscc,
        employer_name=r.employer_name,
        occupation_code=r.occupation.code,
        occupation_name_zh=r.occupation.name_zh,
        occupation_name_en=r.occupation.name_en,
        work_type=r.work_type,
        level=r.level,
        issue_date=r.issue_date,
        route=r.route,
        direct_ground=r.direct_ground,
        direct_evidence=r.direct_evidence,
        body_code=body.code,
        body_name_zh=body.name_zh,
        body_name_en=body.name_en,
        supersedes=r.corrects.number if r.corrects else None,
    )


def revoke(runtime: Runtime, number: str, reason: str, actor: str = "") -> Certificate:
    """Revoke a valid certificate; the reason is shown on verification and logged publicly."""
    cert = _revoke(runtime, number, reason, actor)
    publish(runtime)
    return cert


def _revoke(runtime: Runtime, number: str, reason: str, actor: str) -> Certificate:
    reason = reason.strip()
    if len(reason) < 4:
        raise InvalidInput("give a reason for the revocation (shown to anyone who verifies)")
    check_visible("reason", reason, multiline=True)  # signed, and shown on the public page
    with runtime.db.transaction() as session:
        cert = session.scalar(select(Certificate).where(Certificate.number == number))
        if cert is None:
            raise NotFound(f"no certificate {number}")
        if cert.status != "valid":
            raise Conflict(f"certificate {number} is already {cert.status}")
        now = utcnow()
        cert.status = "revoked"
        cert.status_reason = reason
        cert.status_changed_at = now
        # Signed by the body's active key now, so the registry can verify the revocation too.
        signer = runtime.keyring.signer_for(session, cert.body)
        statement = status_statement(
            number=number,
            body_code=cert.body.code,
            status="revoked",
            reason=reason,
            at=now,
            public_url=runtime.settings.public_url,
        )
        record = sign_status_statement(signer, statement)
        session.add(  # numbered at flush, i.e. last (certsvc.models.events lock order)
            Event(
                kind="revoked",
                body_id=cert.body_id,
                certificate_id=cert.id,
                actor=actor,
                data={"number": number, "reason": reason, "kid": signer.kid, "record": record},
                occurred_at=now,
            )
        )
        return cert
