"""A body's own certificates and batches, as its staff see them in the console and the API.

Every function takes the body's id and finds only that body's rows: a certificate number or
batch id of another body is "not found", never "forbidden", so nothing tells whether it
exists. Issuing itself is :mod:`certsvc.issuance.service`; this module adds what the staff
need around it: a dry run of a results file (the preview), search, detail with history,
dashboard counts and corrections (reissue).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from certsvc.bodies.bodies import require_active
from certsvc.domain.ids import IdType, mask_id_number
from certsvc.domain.levels import Level
from certsvc.domain.statuses import CertificateStatus
from certsvc.errors import Conflict, InvalidInput, NotFound, RowError
from certsvc.i18n import N_, Message
from certsvc.issuance import service
from certsvc.issuance.columns import COLUMNS
from certsvc.issuance.service import BatchResult, issue_batch
from certsvc.issuance.validate import validate_rows
from certsvc.models import Batch, Certificate, CertificationBody, Event, Occupation
from certsvc.runtime import Runtime

__all__ = [
    "CORRECTABLE",
    "CertificateHistory",
    "CertificateQuery",
    "Dashboard",
    "Preview",
    "PreviewRow",
    "batch_certificates",
    "batch_digest",
    "body_by_id",
    "dashboard",
    "get_batch",
    "get_certificate",
    "history",
    "json_digest",
    "list_batches",
    "preview_rows",
    "reissue",
    "search",
]

#: Fields a correction may change (everything certified except the number and the issuer).
CORRECTABLE = tuple(c.key for c in COLUMNS if c.key != "corrects")
PAGE_SIZE = 50


def body_by_id(session: Session, body_id: int) -> CertificationBody:
    body = session.get(CertificationBody, body_id)
    if body is None:
        raise NotFound(N_("the certification body no longer exists"))
    return body


def batch_digest(runtime: Runtime, content: bytes) -> str:
    """The de-duplication key of submitted content: HMAC-SHA256 under the service's ID key.

    Keyed, because a batch of one row holds one person's ID number: a plain hash of it could
    be reversed by trying every ID number.
    """
    return hmac.new(
        runtime.settings.id_hash_key, b"certsvc-batch/v1|" + content, hashlib.sha256
    ).hexdigest()


def json_digest(runtime: Runtime, data: object) -> str:
    """:func:`batch_digest` of JSON data (API batches: the submitted rows as they came)."""
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return batch_digest(runtime, canonical.encode())


# --- look-ups ------------------------------------------------------------------------------


def get_certificate(session: Session, body_id: int, number: str) -> Certificate:
    """The body's certificate with this number; NotFound for any other."""
    cert = session.scalar(
        select(Certificate)
        .options(joinedload(Certificate.holder), joinedload(Certificate.occupation))
        .where(Certificate.number == number.strip().upper(), Certificate.body_id == body_id)
    )
    if cert is None:
        raise NotFound(N_("no certificate {number} of this body"), number=number.strip()[:40])
    return cert


def get_batch(session: Session, body_id: int, batch_id: str) -> Batch:
    """The body's batch with this id; NotFound for any other."""
    batch = session.scalar(
        select(Batch).where(Batch.id == batch_id.strip().lower(), Batch.body_id == body_id)
    )
    if batch is None:
        raise NotFound(N_("no batch {batch} of this body"), batch=batch_id.strip()[:40])
    return batch


def batch_certificates(session: Session, batch: Batch) -> list[Certificate]:
    return list(
        session.scalars(
            select(Certificate)
            .options(joinedload(Certificate.holder), joinedload(Certificate.occupation))
            .where(Certificate.batch_id == batch.id)
            .order_by(Certificate.batch_row)
        )
    )


def list_batches(session: Session, body_id: int, limit: int = 20) -> list[Batch]:
    """The body's latest batches, newest first."""
    return list(
        session.scalars(
            select(Batch)
            .where(Batch.body_id == body_id)
            .order_by(Batch.created_at.desc(), Batch.id)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class CertificateQuery:
    """Search terms; empty ones are ignored. ``name`` matches a part of the holder's name."""

    number: str = ""
    name: str = ""
    occupation: str = ""
    level: str = ""
    batch: str = ""
    status: str = ""
    page: int = 1


def search(
    session: Session, body_id: int, query: CertificateQuery
) -> tuple[list[Certificate], int]:
    """One page of the body's certificates matching ``query`` (newest first), and the total."""
    where = [Certificate.body_id == body_id]
    if query.number.strip():
        where.append(Certificate.number.startswith(query.number.strip().upper(), autoescape=True))
    if query.name.strip():
        where.append(Certificate.holder_name.contains(query.name.strip(), autoescape=True))
    if query.occupation.strip():
        where.append(
            or_(
                Certificate.occupation_code.startswith(query.occupation.strip(), autoescape=True),
                Certificate.occupation.has(
                    Occupation.name_zh.contains(query.occupation.strip(), autoescape=True)
                ),
            )
        )
    if query.level.strip():
        where.append(Certificate.level == query.level.strip().upper())
    if query.batch.strip():
        where.append(Certificate.batch_id == query.batch.strip().lower())
    if query.status.strip():
        where.append(Certificate.status == query.status.strip())
    total = session.scalar(select(func.count()).select_from(Certificate).where(*where)) or 0
    page = max(1, query.page)
    rows = session.scalars(
        select(Certificate)
        .options(joinedload(Certificate.occupation))
        .where(*where)
        .order_by(Certificate.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return list(rows), int(total)


@dataclass(frozen=True)
class CertificateHistory:
    """A certificate's line of corrections, oldest first, and the events of every one."""

    chain: list[Certificate]
    events: list[Event]


def history(session: Session, cert: Certificate) -> CertificateHistory:
    """Every certificate this one corrects or is corrected by, and their events in order."""
    chain = [cert]
    seen = {cert.id}
    current = cert
    while current.supersedes_id is not None and current.supersedes_id not in seen:
        previous = session.get(Certificate, current.supersedes_id)
        if previous is None or previous.body_id != cert.body_id:
            break
        chain.insert(0, previous)
        seen.add(previous.id)
        current = previous
    current = cert
    while True:
        successor = session.scalar(
            select(Certificate).where(
                Certificate.supersedes_id == current.id, Certificate.body_id == cert.body_id
            )
        )
        if successor is None or successor.id in seen:
            break
        chain.append(successor)
        seen.add(successor.id)
        current = successor
    events = list(
        session.scalars(select(Event).where(Event.certificate_id.in_(seen)).order_by(Event.seq))
    )
    return CertificateHistory(chain, events)


# --- dashboard -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    """Counts of the body's valid certificates, and its latest batches."""

    by_status: dict[CertificateStatus, int]
    by_occupation: list[tuple[str, str, int]]  # code, Chinese name, count
    by_level: list[tuple[Level, int]]
    by_month: list[tuple[str, int]]  # "2026-11", count; newest first
    recent_batches: list[Batch] = field(default_factory=list)


def dashboard(session: Session, body_id: int, *, months: int = 12) -> Dashboard:
    """Counts by occupation, level and month of issue (valid certificates only)."""
    mine = Certificate.body_id == body_id
    valid = Certificate.status == "valid"
    by_status = {
        status: int(n)
        for status, n in session.execute(
            select(Certificate.status, func.count()).where(mine).group_by(Certificate.status)
        )
    }
    occupations = session.execute(
        select(Certificate.occupation_code, Occupation.name_zh, func.count())
        .join(Occupation, Occupation.code == Certificate.occupation_code)
        .where(mine, valid)
        .group_by(Certificate.occupation_code, Occupation.name_zh)
        .order_by(func.count().desc(), Certificate.occupation_code)
    ).all()
    levels = session.execute(
        select(Certificate.level, func.count()).where(mine, valid).group_by(Certificate.level)
    ).all()
    # Grouped by day in SQL (portable), folded into months here: few distinct days.
    per_month: Counter[str] = Counter()
    for day, n in session.execute(
        select(Certificate.issue_date, func.count())
        .where(mine, valid)
        .group_by(Certificate.issue_date)
    ):
        per_month[f"{day:%Y-%m}"] += int(n)
    return Dashboard(
        by_status=by_status,
        by_occupation=[(code, name, int(n)) for code, name, n in occupations],
        by_level=sorted(
            ((Level.from_code(code), int(n)) for code, n in levels),
            key=lambda item: item[0].rank,
        ),
        by_month=sorted(per_month.items(), reverse=True)[:months],
        recent_batches=list_batches(session, body_id, limit=10),
    )


# --- preview (dry run) --------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewRow:
    """One row of an uploaded file, the values to show and the problems found in it."""

    row: int
    values: dict[str, str]
    errors: list[RowError]

    @property
    def error_columns(self) -> set[str]:
        return {e.column for e in self.errors}


@dataclass(frozen=True)
class Preview:
    """What would happen if the file were issued now."""

    rows: list[PreviewRow]
    #: Problems not tied to a row shown in the file (e.g. "the batch has no rows").
    general_errors: list[RowError]
    #: A batch with the same content that was issued already (nothing new would be issued).
    issued_batch_id: str | None = None

    @property
    def error_count(self) -> int:
        return sum(len(r.errors) for r in self.rows) + len(self.general_errors)

    @property
    def ok(self) -> bool:
        return self.error_count == 0


def preview_rows(
    runtime: Runtime,
    body_id: int,
    rows: Sequence[tuple[int, Mapping[str, str]]],
    read_errors: Sequence[RowError],
    digest: str,
) -> Preview:
    """Validate ``rows`` as :func:`issue_batch` would, without issuing anything.

    ID numbers are masked in the returned values unless their cell is at fault (the person
    must see what to fix).
    """
    with runtime.db.session() as session:
        body = body_by_id(session, body_id)
        require_active(body, Message(N_("issue certificates")))
        issued = session.scalar(
            select(Batch.id).where(Batch.body_id == body.id, Batch.content_sha256 == digest)
        )
        _, errors = validate_rows(session, body, rows, runtime.vault)
        session.rollback()
    errors = [*read_errors, *errors]
    by_row: dict[int, list[RowError]] = {}
    for e in errors:
        by_row.setdefault(e.row, []).append(e)
    shown = {number for number, _ in rows}
    general = [e for e in errors if e.row not in shown]
    if not rows:
        general.append(RowError.of(1, "", N_("the file has no data rows")))
    preview_rows_: list[PreviewRow] = []
    for number, values in rows:
        row_errors = sorted(by_row.get(number, []), key=lambda e: e.column)
        bad = {e.column for e in row_errors}
        shown_values = {c.key: str(values.get(c.key, "")) for c in COLUMNS}
        if "id_number" not in bad and shown_values["id_number"]:
            shown_values["id_number"] = mask_id_number(shown_values["id_number"])
        preview_rows_.append(PreviewRow(number, shown_values, row_errors))
    return Preview(preview_rows_, general, issued)


# --- corrections ---------------------------------------------------------------------------


def stored_cells(cert: Certificate) -> dict[str, str]:
    """The certificate as the cells of a results row, ID number left empty (it is stored
    encrypted): what a correction starts from, in the API and in the console's form."""
    return {
        "name": cert.holder_name,
        "id_type": IdType(cert.holder.id_type).value,
        "id_number": "",
        "employer_uscc": cert.employer_uscc,
        "employer_name": cert.employer_name,
        "occupation_code": cert.occupation_code,
        "work_type": cert.work_type,
        "level": cert.level,
        "issue_date": cert.issue_date.isoformat(),
        "route": cert.route,
        "direct_ground": cert.direct_ground or "",
        "direct_evidence": cert.direct_evidence,
    }


def correction_row(
    runtime: Runtime, session: Session, cert: Certificate, changes: Mapping[str, str]
) -> dict[str, str]:
    """The results row that reissues ``cert`` with ``changes`` applied.

    Unchanged fields are copied from the stored certificate; the ID number, stored encrypted,
    is decrypted here unless a new one is given, and lives only in memory. An empty value
    keeps the stored one, except for optional fields, which it clears. Raises InvalidInput
    when nothing would change.
    """
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if unknown:
        raise InvalidInput(
            N_("cannot change {fields}; a correction may change {correctable}"),
            fields=", ".join(unknown),
            correctable=", ".join(CORRECTABLE),
        )
    if not all(isinstance(value, str) for value in changes.values()):
        raise InvalidInput(N_("give every new value as text"))
    id_type = IdType(cert.holder.id_type)
    stored = stored_cells(cert)
    effective = {
        key: value.strip()
        for key, value in changes.items()
        if value.strip() != stored[key] and (value.strip() or key in _CLEARABLE)
    }
    if not effective:
        raise InvalidInput(N_("nothing to correct: every field is as on the certificate"))
    row = {**stored, **effective, "corrects": cert.number}
    if not row["id_number"]:
        if row["id_type"] != id_type.value:
            raise InvalidInput(N_("a new ID type needs the new ID number too"))
        row["id_number"] = runtime.vault.reveal(
            id_type, cert.holder.id_hash, cert.holder.id_ciphertext
        )
    return row


def revoke(
    runtime: Runtime, body_id: int | None, number: str, reason: str, *, actor: str
) -> Certificate:
    """Revoke ``number`` on behalf of the body ``body_id`` (``None``: the platform's CLI).

    Like :func:`reissue`, the acting body is checked here and not left to the caller: a
    number of another body is NotFound, as if it did not exist. A certificate never changes
    body, so checking before the revoking transaction cannot race.
    """
    if body_id is not None:
        with runtime.db.session() as session:
            number = get_certificate(session, body_id, number).number
    return service.revoke(runtime, number, reason, actor)


# Optional fields a correction may empty.
_CLEARABLE = frozenset({"employer_name", "work_type", "direct_evidence", "direct_ground", "route"})


def reissue(
    runtime: Runtime,
    body_id: int,
    number: str,
    changes: Mapping[str, str],
    *,
    actor: str,
    source: str,
    idempotency_key: str | None = None,
) -> BatchResult:
    """Issue a corrected certificate that supersedes ``number`` (one transaction).

    Raises BatchRejected with the problems of the corrected row (row 1), NotFound for a
    number of another body, Conflict when the certificate is no longer valid.
    """
    digest = json_digest(runtime, {"corrects": number.strip().upper(), "changes": changes})
    with runtime.db.session() as session:
        cert = get_certificate(session, body_id, number)
        if cert.status != "valid" and not _submitted_before(
            session, body_id, digest, idempotency_key
        ):
            if cert.status == "revoked":
                raise Conflict(
                    N_(
                        "certificate {number} is revoked; only a valid certificate can be corrected"
                    ),
                    number=cert.number,
                )
            raise Conflict(
                N_(
                    "certificate {number} is superseded by a corrected certificate; only a "
                    "valid certificate can be corrected"
                ),
                number=cert.number,
            )
        row = correction_row(runtime, session, cert, changes)
        body_code = cert.body.code
        number = cert.number
    return issue_batch(
        runtime,
        body_code,
        [(1, row)],
        source=source,
        content_sha256=digest,
        filename=f"correction of {number}",
        idempotency_key=idempotency_key,
        actor=actor,
    )


def _submitted_before(
    session: Session, body_id: int, digest: str, idempotency_key: str | None
) -> bool:
    """Whether this very correction was issued already (a retry is answered, not refused)."""
    same = Batch.content_sha256 == digest
    if idempotency_key:
        same = or_(same, Batch.idempotency_key == idempotency_key)
    return session.scalar(select(Batch.id).where(Batch.body_id == body_id, same)) is not None
