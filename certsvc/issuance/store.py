"""The last stage of issuing a batch, in three steps: sign, write certificates, write events.

:func:`certsvc.issuance.service.issue_batch` has validated every row, allocated the numbers
and found the holders; inside its transaction it then calls

1. :func:`sign_certificates` — both signed forms of each certificate (the QR token and the
   vc+jwt record), made lazily: the signer's helper threads sign the next payloads while the
   rows already signed are written;
2. :func:`write_certificates` — the certificate rows, streamed to the database (``COPY`` on
   PostgreSQL) as they are signed;
3. :func:`write_events` — the signed supersession statements of corrected certificates and
   one event per change, numbered last because reserving sequence numbers locks the log head
   until commit (:mod:`certsvc.events`); it returns the transparency-log leaf hash of every
   event, made from the values written, so they need not be read back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, BigInteger, func, insert, literal, select
from sqlalchemy.orm import Session

from certsvc.caches import Caches
from certsvc.db import bulk_insert
from certsvc.domain.ids import mask_id_number
from certsvc.holders.identity import id_commitment
from certsvc.issuance.credential import CertifiedFacts, credential_payload, qr_payload
from certsvc.issuance.validate import CertificateRequest
from certsvc.models import Batch, Certificate, CertificationBody, Event, UTCDateTime
from certsvc.models.events import reserve
from certsvc.registry.statements import sign_status_statement, status_statement
from certsvc.signing.jws import JwsSigner, SigningJob
from certsvc.signing.statuslist import StatusEntry
from certsvc.signing.vc import VC_CTY, VC_JWT_TYP
from certsvc.transparency.leaf import EventFacts, leaf_hash_of

__all__ = [
    "IssuedCertificate",
    "SignedCertificate",
    "facts_for",
    "sign_certificates",
    "write_certificates",
    "write_events",
]


@dataclass(frozen=True)
class IssuedCertificate:
    row: int
    number: str
    holder_name: str
    token: str


@dataclass(frozen=True)
class SignedCertificate:
    """One request with what was certified and both its signed forms."""

    request: CertificateRequest
    facts: CertifiedFacts
    token: str  # compact JWS for the QR
    record: str  # vc+jwt
    status_list_id: int  # the body's status list and this certificate's bit in it
    status_index: int


def facts_for(
    r: CertificateRequest,
    number: str,
    body: CertificationBody,
    id_salt: bytes,
    status_entry: StatusEntry | None = None,
    photo_sha256: str | None = None,
) -> CertifiedFacts:
    """What certificate ``number`` certifies, from its validated request (and the digest of
    the holder photo it shows, if any)."""
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
        status_entry=status_entry,
        photo_sha256=photo_sha256,
    )


def sign_certificates(
    signer: JwsSigner,
    body: CertificationBody,
    requests: Sequence[CertificateRequest],
    numbers: Mapping[int, str],
    salts: Mapping[int, bytes],
    entries: Sequence[tuple[int, int, StatusEntry]],
    public_url: str,
    caches: Caches | None = None,
    photos: Mapping[int, str] | None = None,
) -> Iterator[SignedCertificate]:
    """Both signed forms of each request, in order (``numbers``, ``salts`` and the photo
    digests ``photos`` by row; ``entries``, each request's place in the body's status list,
    in request order)."""
    photos = photos or {}
    # Made as the signer asks for the next payloads, so the helper threads start signing
    # after the first chunk rather than after the whole batch's facts.
    facts: list[CertifiedFacts] = []

    def jobs() -> Iterator[SigningJob]:
        for r, (_, _, entry) in zip(requests, entries, strict=True):
            f = facts_for(r, numbers[r.row], body, salts[r.row], entry, photos.get(r.row))
            facts.append(f)
            yield qr_payload(f), None, None
            yield credential_payload(f, public_url, caches), VC_JWT_TYP, VC_CTY

    tokens = signer.sign_all(jobs())
    for index, r in enumerate(requests):
        token, record = next(tokens), next(tokens)
        list_id, bit, _ = entries[index]
        # facts[index] was made before its payloads could be signed
        yield SignedCertificate(r, facts[index], token, record, list_id, bit)


def write_certificates(
    session: Session,
    body: CertificationBody,
    batch: Batch,
    kid: str,
    signed: Iterable[SignedCertificate],
    holder_ids: Mapping[int, int],
    now: dt.datetime,
    progress: Callable[[int], None] | None,
) -> list[tuple[IssuedCertificate, str]]:
    """Write each signed certificate (``holder_ids`` by row); the issued certificates and
    their records, in the order written. ``progress`` hears every hundred rows."""
    written: list[tuple[IssuedCertificate, str]] = []

    def certificate_rows() -> Iterator[dict[str, Any]]:
        # Generators all the way: on PostgreSQL each row is streamed to COPY as soon as it
        # is signed, while the next payloads are signed on the signer's helper threads.
        for s in signed:
            r, f = s.request, s.facts
            yield {
                "number": f.number,
                "body_id": body.id,
                "batch_id": batch.id,
                "batch_row": r.row,
                "holder_id": holder_ids[r.row],
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
                "kid": kid,
                "token": s.token,
                "record": s.record,
                "status_list_id": s.status_list_id,
                "status_index": s.status_index,
                "photo_sha256": f.photo_sha256,
                "created_at": now,
                "updated_at": now,
            }
            written.append((IssuedCertificate(r.row, f.number, r.holder_name, s.token), s.record))
            if progress is not None and len(written) % 100 == 0:
                progress(100)
        if progress is not None and len(written) % 100:
            progress(len(written) % 100)

    bulk_insert(session, Certificate, certificate_rows())
    return written


def write_events(
    session: Session,
    body: CertificationBody,
    batch: Batch,
    signer: JwsSigner,
    requests: Sequence[CertificateRequest],
    numbers: Mapping[int, str],
    written: Sequence[tuple[IssuedCertificate, str]],
    actor: str,
    now: dt.datetime,
    public_url: str,
) -> dict[int, bytes]:
    """The "superseded" events of corrected certificates, then one "issued" event per
    certificate in row order; returns each event's transparency-log leaf hash, by seq."""
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
    in_row_order = sorted(written, key=lambda ir: ir[0].row)
    if len({c.row for c, _ in written}) == len(written):  # else the order is the database's
        first_issued = first + len(corrections)
        issued_data = {"kid": signer.kid}
        for offset, (cert, record) in enumerate(in_row_order):
            seq = first_issued + offset
            event = EventFacts(
                seq, "issued", now, issued_data, body.code, cert.number, cert.token, record
            )
            leaves[seq] = leaf_hash_of(event)
    return leaves
