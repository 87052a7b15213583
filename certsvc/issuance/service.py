"""Issuing a batch: validate all, then number, sign and store every certificate in one transaction.

The order of work inside the transaction matters:

1. a batch with the same idempotency key or the same content returns the stored result;
2. every row is validated (:mod:`certsvc.issuance.validate`); any error rejects the batch whole;
3. serials are taken from ``number_sequences`` with one ``INSERT … ON CONFLICT DO UPDATE …
   RETURNING`` per (year, level): the counter row stays locked until commit, so concurrent
   batches of one body queue on it and a rolled-back batch gives its serials back — numbers are
   gap-free and never repeat;
4. holders are found or created; both signed forms are made, and certificates and events are
   written in bulk (:mod:`certsvc.issuance.store`: sign, write certificates, write events).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from certsvc.bodies.bodies import require_active
from certsvc.db import insert_ignoring_conflicts, one_of
from certsvc.domain.ids import IdType, redact_id_numbers
from certsvc.domain.levels import Level
from certsvc.domain.numbers import MAX_SERIAL, CertificateNumber, parse_body_code
from certsvc.domain.text import check_text
from certsvc.errors import (
    BatchRejected,
    ConcurrentChange,
    Conflict,
    InvalidInput,
    NotFound,
    RowError,
)
from certsvc.i18n import N_, Message
from certsvc.issuance.status import assign_entries, mark_not_current
from certsvc.issuance.store import (
    IssuedCertificate,
    sign_certificates,
    write_certificates,
    write_events,
)
from certsvc.issuance.validate import CertificateRequest, validate_rows
from certsvc.metrics import CERTIFICATES_ISSUED, CERTIFICATES_REVOKED
from certsvc.models import (
    Batch,
    Certificate,
    CertificationBody,
    Event,
    Holder,
    NumberSequence,
    utcnow,
)
from certsvc.registry.statements import sign_status_statement, status_statement
from certsvc.runtime import Runtime
from certsvc.signing.jws import JwsSigner
from certsvc.transparency.log import publish

log = logging.getLogger(__name__)


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
    # surrogatepass: rows with invalid text are hashed (and then refused by validation).
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


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
        CERTIFICATES_ISSUED.inc(len(result.certificates))
        publish(runtime, leaves)
    return result


def _issue_once(
    runtime: Runtime, sub: _Submission, progress: Callable[[int], None] | None
) -> tuple[BatchResult, dict[int, bytes]]:
    try:
        with runtime.db.transaction() as session:
            return _issue(runtime, session, sub, progress)
    except ConcurrentChange as exc:
        # A concurrent submission of the same batch won the race, or another batch certified
        # the same person meanwhile (the database's unique index, checked as the rows are
        # written). Answer the first from the stored batch; refuse the second with a 409.
        with runtime.db.transaction() as session:
            body = _body(session, sub.body_code)
            replay = _find_replay(session, body, sub.content_sha256, sub.idempotency_key)
            if replay is not None:
                return replay, {}
        raise ConcurrentChange(
            N_(
                "another batch certified the same person for the same occupation and level at "
                "the same moment; nothing from this batch was issued — submit it again to see "
                "which rows are affected"
            )
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
    require_active(body, Message(N_("issue certificates")))
    if not sub.rows and not sub.read_errors:
        raise BatchRejected([RowError.of(1, "", N_("the batch has no rows"))])
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
    superseded = _supersede(session, runtime, requests, numbers, signer)
    issued, leaves = _store(
        session, runtime, body, batch, signer, requests, numbers, holders, sub.actor, progress
    )
    return BatchResult(batch.id, issued, superseded=superseded), leaves


def _body(session: Session, body_code: str) -> CertificationBody:
    body = session.scalar(select(CertificationBody).where(CertificationBody.code == body_code))
    if body is None:
        raise NotFound(
            N_("no certification body with code {code}; `certsvc body list`"), code=body_code
        )
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
                N_(
                    "idempotency key {key} was used for a different batch; use a new key for "
                    "new content"
                ),
                key=repr(idempotency_key),
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
                N_(
                    "certificate serials for {body}, {year}, {level} are used up (the number "
                    "format allows {maximum} a year)"
                ),
                body=body.code,
                year=year,
                level=level.printed_zh,
                maximum=f"{MAX_SERIAL:,}",
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
    session: Session,
    runtime: Runtime,
    requests: list[CertificateRequest],
    numbers: dict[int, str],
    signer: JwsSigner,
) -> list[str]:
    """Mark corrected certificates superseded (before the new ones exist: one valid at a time).

    Their bits in the body's status list are set in this transaction too.
    """
    superseded: list[str] = []
    corrected: list[Certificate] = []
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
            raise Conflict(
                N_("certificate {number} changed while this batch was issued"),
                number=r.corrects.number,
            )
        superseded.append(r.corrects.number)
        corrected.append(r.corrects)
    mark_not_current(session, corrected, signer, runtime.settings.public_url, now)
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
    """Sign and store the certificates and their events (:mod:`certsvc.issuance.store`).

    Returns the issued certificates and the transparency-log leaf hash of every event
    written, by seq, made from the values written (for :func:`publish`).
    """
    public_url = runtime.settings.public_url
    now = utcnow()
    entries = assign_entries(session, body, len(requests), public_url)
    refs = {r.row: holders[(r.id_type.value, r.id_digest)] for r in requests}
    salts = {row: h.salt for row, h in refs.items()}
    signed = sign_certificates(
        signer, body, requests, numbers, salts, entries, public_url, runtime.caches
    )
    holder_ids = {row: h.id for row, h in refs.items()}
    written = write_certificates(
        session, body, batch, signer.kid, signed, holder_ids, now, progress
    )
    leaves = write_events(
        session, body, batch, signer, requests, numbers, written, actor, now, public_url
    )
    return [issued for issued, _ in written], leaves


def revoke(runtime: Runtime, number: str, reason: str, actor: str = "") -> Certificate:
    """Revoke a valid certificate; the reason is shown on verification and logged publicly
    (checkpointed as soon as it commits: :mod:`certsvc.events`)."""
    cert = _revoke(runtime, number, reason, actor)
    CERTIFICATES_REVOKED.inc()
    return cert


def _revoke(runtime: Runtime, number: str, reason: str, actor: str) -> Certificate:
    reason = reason.strip()
    if len(reason) < 4:
        raise InvalidInput(N_("give a reason for the revocation (shown to anyone who verifies)"))
    check_text(
        Message(N_("reason")), reason, multiline=True
    )  # signed, and shown on the public page
    with runtime.db.transaction() as session:
        cert = session.scalar(select(Certificate).where(Certificate.number == number))
        if cert is None:
            raise NotFound(N_("no certificate {number}"), number=number)
        if cert.status != "valid":
            if cert.status == "revoked":
                raise Conflict(N_("certificate {number} is already revoked"), number=number)
            raise Conflict(
                N_("certificate {number} is already superseded by a corrected certificate"),
                number=number,
            )
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
        mark_not_current(session, [cert], signer, runtime.settings.public_url, now)
        session.add(  # numbered at flush, i.e. last (certsvc.events lock order)
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
