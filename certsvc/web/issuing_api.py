"""The issuing API under ``/api/v1``: what a body's HR system calls (bearer token).

=======  ==========================================  =========================
method   path                                        permission (token roles)
=======  ==========================================  =========================
POST     ``/api/v1/batches``                         issue (issuer); over 1,000 rows: 202 + job
GET      ``/api/v1/batches/{id}``                    read (admin, issuer, viewer)
GET      ``/api/v1/certificates/{number}``           read
GET      ``/api/v1/certificates/{number}/pdf``       read
POST     ``/api/v1/certificates/{number}/revoke``    revoke (issuer)
POST     ``/api/v1/certificates/{number}/reissue``   issue (issuer)
=======  ==========================================  =========================

A token belongs to one body (:mod:`certsvc.accounts.tokens`) and sees that body only: a batch or
certificate of another body answers 404, exactly as one that does not exist. A batch is
issued whole or not at all; ``Idempotency-Key`` makes retries safe (the same key and rows
answer the stored batch, 200 with ``replayed: true``; the same key with other rows 409).
Per-row problems answer 422 ``batch_rejected`` with ``rows: [{index, field, message}]``,
``index`` counting from 0 in the submitted ``rows`` array. Every call is audited.

Each row may carry the holder's photo in ``photo``: the bytes of a JPEG or PNG file in
base64 (JSON rather than multipart, so a batch stays one document, retried and de-duplicated
whole). A request is at most :data:`MAX_BATCH_REQUEST_BYTES`; a normalised photo is some 40–80
KB, so send photos of about 600 × 840 pixels and batches of a few hundred rows with photos.

Requests are read with the models of :mod:`certsvc.web.schemas` (a row's shape problems
become per-row errors, like its content problems); each view's :func:`documented` operation
describes it in ``/api/v1/openapi.json``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy.orm import Session

from certsvc.accounts.permissions import Permission, roles_with
from certsvc.accounts.tokens import TokenIdentity
from certsvc.domain.text import check_text
from certsvc.errors import (
    BatchRejected,
    InvalidRequest,
    NotFound,
    RowError,
)
from certsvc.holders.photo_archive import PHOTO_COLUMN
from certsvc.i18n import N_, Message, plural
from certsvc.issuance import certificates
from certsvc.issuance.columns import COLUMNS
from certsvc.issuance.photo_rows import given_photos
from certsvc.issuance.service import issue_batch
from certsvc.jobs.service import ASYNC_IMPORT_ROWS, encode_photos, encode_rows
from certsvc.jobs.service import submit as submit_job
from certsvc.models import Batch, Certificate
from certsvc.verify.core import certificate_fields
from certsvc.verify.result import format_time
from certsvc.web import runtime_of, schemas
from certsvc.web.authz import audit_request, audited_request
from certsvc.web.bearer import current_token, require_token, token_body_id
from certsvc.web.jobs_api import accepted
from certsvc.web.json_body import json_object, parse, refuse
from certsvc.web.openapi import Answer, Operation, Param, documented
from certsvc.web.schemas import (
    IDEMPOTENCY_PATTERN,
    MAX_IDEMPOTENCY_KEY,
    MAX_NUMBER,
    IssuedBatch,
    IssuedCertificate,
    IssuingBatchRequest,
    IssuingError,
    Job,
    Reissued,
    ReissueRequest,
    RevokeRequest,
)

__all__ = ["bp"]

bp = Blueprint("issuing_api", __name__, url_prefix="/api/v1")

_IDEMPOTENCY_RE = re.compile(IDEMPOTENCY_PATTERN)
FIELDS = tuple(c.key for c in COLUMNS)
#: A batch request with photos in it (other requests keep the app's 20 MB).
MAX_BATCH_REQUEST_BYTES = 64 * 1024 * 1024

# --- what the views take and answer (for /api/v1/openapi.json) ----------------------------------

_ERRORS = {
    400: Answer(
        "The request cannot be read (not a JSON object, unknown member, bad header, text that "
        "is not valid Unicode: invalid_unicode)."
    ),
    401: Answer(
        "No bearer token, or an unknown or revoked one.",
        headers={"WWW-Authenticate": {"schema": {"type": "string"}}},
    ),
    403: Answer("The token's role may not do this, or it belongs to no body."),
    404: Answer("No such batch or certificate of the token's body."),
    409: Answer(
        "Conflicts with what is stored (already revoked; key reused for other rows; the body "
        "is suspended), or another batch certified the same person at the same moment "
        "(concurrent_change)."
    ),
    422: Answer("Rejected: nothing was issued; per-row problems in error.rows."),
}


def _errors(*statuses: int) -> dict[int, Answer]:
    return {status: _ERRORS[status] for status in statuses}


def _idempotency(required: bool) -> Param:
    return Param(
        "Idempotency-Key",
        {"type": "string", "pattern": IDEMPOTENCY_PATTERN},
        where="header",
        required=required,
        description="A key unique per batch, e.g. a UUID.",
    )


_NUMBER = Param(
    "number",
    {"type": "string", "maxLength": MAX_NUMBER},
    where="path",
    description="Certificate number (22 characters).",
)


def _issuing(operation_id: str, summary: str, **rest: Any) -> Operation:
    return Operation(
        operation_id,
        summary,
        tags=("issuing",),
        security="issuingToken",
        error=IssuingError,
        **rest,
    )


_READ = roles_with(Permission.READ)
_ISSUE = roles_with(Permission.ISSUE)
_REVOKE = roles_with(Permission.REVOKE)


def _idempotency_key(required: bool) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None or not key.strip():
        if required:
            raise InvalidRequest(
                N_("send an Idempotency-Key header (e.g. a UUID) so a retry never issues twice")
            )
        return None
    if not _IDEMPOTENCY_RE.match(key):
        raise InvalidRequest(
            N_("the Idempotency-Key must be 1 to {max_idempotency_key} visible ASCII characters"),
            max_idempotency_key=MAX_IDEMPOTENCY_KEY,
        )
    check_text("Idempotency-Key", key)  # stored with the batch and audited: no ID number
    return key


def _read_rows(
    model: type[BaseModel], member: str
) -> tuple[dict[str, Any], list[tuple[int, dict[str, str]]], list[RowError]]:
    """The request body (a ``model`` whose rows are its ``member``: a list of rows, or one row
    for a correction), each row's text values, and the problems with their shape (types,
    names, lengths) as row errors.

    A problem outside the rows answers 400. The rows' problems are reported with those of
    their content (control characters included: validate_rows checks those, as for files),
    so that a batch is refused once, with everything wrong in it.
    """
    data = json_object(
        Message(
            N_("send a JSON object as the request body, e.g. {example}"),
            example=f'{{"{member}": ...}}',
        )
    )
    try:
        model.model_validate(data)
        errors: list[ErrorDetails] = []
    except ValidationError as exc:
        errors = exc.errors()
    outside = [e for e in errors if e["loc"][:1] != (member,) or len(e["loc"]) < 2]
    if outside:
        refuse(model, outside)
    rows = data[member]
    # Where the problem is, as (row index, field): after the member, a correction's single
    # row has the field; a batch has the index, then the field (none: the row as a whole).
    places = [
        (0, e["loc"][1:]) if isinstance(rows, dict) else (e["loc"][1], e["loc"][2:]) for e in errors
    ]
    if isinstance(rows, dict):
        rows = [rows]
    bad: dict[tuple[int, str], RowError] = {}
    for e, (index, field) in zip(errors, places, strict=True):
        if not field:
            bad[(int(index), "")] = RowError.of(
                int(index), "", N_("each row must be a JSON object of column: text")
            )
        elif e["type"] == "missing" or (e["type"] == "string_type" and e["input"] is None):
            continue  # an empty required column: validate_rows says so, as for files
        else:
            at, column = int(index), str(field[0])[:40]
            bad.setdefault((at, column), RowError.of(at, column, _row_problem(e)))
    values = [
        (i, {k: (v or "").strip() for k, v in row.items() if (i, k) not in bad and k in FIELDS})
        if isinstance(row, dict)
        else (i, {})
        for i, row in enumerate(rows)
    ]
    return data, values, list(bad.values())


def _photos_given(
    rows: list[Any], shape_errors: list[RowError]
) -> tuple[dict[int, bytes], list[RowError]]:
    """The bytes of each row's ``photo`` (base64), and a row error for one that is not base64."""
    refused = {(e.row, e.column) for e in shape_errors}
    given: dict[int, bytes] = {}
    errors: list[RowError] = []
    for index, row in enumerate(rows):
        text = row.get(PHOTO_COLUMN) if isinstance(row, dict) else None
        if not isinstance(text, str) or (index, PHOTO_COLUMN) in refused:
            continue
        try:
            given[index] = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            errors.append(
                RowError.of(
                    index,
                    PHOTO_COLUMN,
                    N_("not base64: give the photo file's bytes in standard base64 with padding"),
                )
            )
    return given, errors


def _row_problem(error: ErrorDetails) -> Message:
    """What is wrong with one field of a row, in the words the file import uses."""
    key = str(error["loc"][-1])
    if error["type"] == "extra_forbidden":
        if key in FIELDS:
            return Message(N_("cannot be changed by a correction"))
        return Message(N_("unknown field; the fields are {fields}"), fields=", ".join(FIELDS))
    if error["type"] == "string_too_long":
        limit = int(error.get("ctx", {}).get("max_length", 0))
        return plural("longer than {n} character", "longer than {n} characters", limit)
    return Message(N_("must be a string (write numbers and dates as text)"))


def _rejected(exc: BatchRejected) -> ResponseReturnValue:
    seen: set[tuple[int, str]] = set()
    rows = []
    for e in exc.errors:  # shape problems come first; a blanked field adds no second error
        if (e.row, e.column) in seen:
            continue
        seen.add((e.row, e.column))
        rows.append({"index": e.row, "field": e.column or None, "message": e.message})
    body = {"error": {"code": exc.code, "message": exc.message, "rows": rows}}
    return jsonify(body), exc.http_status


def _certificate_brief(cert: Certificate, public_url: str) -> dict[str, Any]:
    return {
        "index": cert.batch_row,
        "number": cert.number,
        "holder_name": cert.holder_name,
        "status": cert.status,
        "verify_url": f"{public_url}/v/{cert.token}",
    }


def _batch_json(session: Session, batch: Batch, public_url: str) -> dict[str, Any]:
    certs = certificates.batch_certificates(session, batch)
    return {
        "id": batch.id,
        "status": "issued",
        "source": batch.source,
        "created_at": format_time(batch.created_at),
        "row_count": batch.row_count,
        "certificates": [_certificate_brief(c, public_url) for c in certs],
    }


def _certificate_json(session: Session, cert: Certificate, public_url: str) -> dict[str, Any]:
    past = certificates.history(session, cert)
    numbers = {c.id: c.number for c in past.chain}
    position = next(i for i, c in enumerate(past.chain) if c.id == cert.id)
    return {
        **certificate_fields(cert),
        "batch_id": cert.batch_id,
        "verify_url": f"{public_url}/v/{cert.token}",
        "supersedes": past.chain[position - 1].number if position > 0 else None,
        "superseded_by": (
            past.chain[position + 1].number if position + 1 < len(past.chain) else None
        ),
        "history": [
            {
                "seq": e.seq,
                "kind": e.kind,
                "certificate": numbers.get(e.certificate_id or 0),
                "at": format_time(e.occurred_at),
                "reason": e.data.get("reason") if isinstance(e.data, dict) else None,
            }
            for e in past.events
        ],
    }


def _no_store(payload: Mapping[str, Any], status: int = 200) -> ResponseReturnValue:
    response = jsonify(payload)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/batches")
@require_token(*_ISSUE)
@documented(
    _issuing(
        "issueBatch",
        "Issue a batch of certificates, all or none",
        description=(
            "Validates every row (format, check digits, scope, members, duplicates) and "
            "issues all of them in one transaction, or none. Retrying with the same "
            "Idempotency-Key and rows answers the stored batch (200, replayed: true); "
            "the same key with other rows is refused (409). Needs the issuer role."
        ),
        params=(_idempotency(required=True),),
        body=IssuingBatchRequest,
        responses={
            201: Answer("Issued.", IssuedBatch),
            200: Answer("Issued before: the stored batch.", IssuedBatch),
            202: Answer(
                f"More than {ASYNC_IMPORT_ROWS} rows: the batch is issued by a job. Poll the "
                "job (Location) until finished; its outcome.batch_id is the batch, its "
                "error.rows the per-row problems if it was rejected.",
                Job,
                headers={"Location": {"schema": {"type": "string"}}},
            ),
            **_errors(400, 401, 403, 409, 422),
        },
    )
)
def create_batch() -> ResponseReturnValue:
    """Issue a batch of rows, all or none; safe to retry with the same Idempotency-Key."""
    token = current_token()
    body_id = token_body_id(token)
    key = _idempotency_key(required=True)
    request.max_content_length = MAX_BATCH_REQUEST_BYTES
    data, numbered, shape_errors = _read_rows(IssuingBatchRequest, "rows")
    rows = data["rows"]
    runtime = runtime_of(current_app)
    limit = runtime.settings.max_batch_rows  # the document's maxItems, filled in per app
    if len(rows) > limit:
        raise InvalidRequest(N_("at most {limit} rows per batch; split the batch"), limit=limit)
    with runtime.db.session() as session:
        body_code = certificates.body_by_id(session, body_id).code
    given, base64_errors = _photos_given(rows, shape_errors)
    photos, photo_errors = given_photos(runtime, body_code, numbered, given)
    shape_errors = [*shape_errors, *base64_errors]
    if len(numbered) > ASYNC_IMPORT_ROWS and not shape_errors:
        return _issue_as_job(token, body_id, body_code, key, rows, numbered, photos, photo_errors)
    try:
        with audited_request(
            "batch.issue", body_id=body_id, detail={"rows": len(rows), "key": key}
        ) as entry:
            result = issue_batch(
                runtime,
                body_code,
                numbered,
                source="api",
                content_sha256=certificates.json_digest(runtime, rows),
                idempotency_key=key,
                actor=f"token {token.prefix}…",
                read_errors=[*shape_errors, *photo_errors],
                photos=photos,
            )
            entry.target = result.batch_id
            entry.outcome = "replayed" if result.replayed else "ok"
            entry.detail["certificates"] = len(result.certificates)
    except BatchRejected as exc:
        return _rejected(exc)
    with runtime.db.session() as session:
        batch = certificates.get_batch(session, body_id, result.batch_id)
        payload = _batch_json(session, batch, runtime.settings.public_url)
    payload["replayed"] = result.replayed
    payload["superseded"] = result.superseded
    response = _no_store(payload, 200 if result.replayed else 201)
    return response


def _issue_as_job(
    token: TokenIdentity,
    body_id: int,
    body_code: str,
    key: str | None,
    rows: list[Any],
    numbered: list[tuple[int, dict[str, str]]],
    photos: Mapping[int, bytes],
    photo_errors: list[RowError],
) -> ResponseReturnValue:
    """A large batch is issued by a job: 202 with the job (the same key: the same job)."""
    runtime = runtime_of(current_app)
    job, created = submit_job(
        runtime,
        body_id,
        "import",
        {"source": "api", "rows": len(numbered)},
        created_by=f"token {token.prefix}…",
        total=len(numbered),
        payload={
            "body_code": body_code,
            "rows": encode_rows(numbered),
            # The job's input is stored encrypted and dropped when the job ends.
            "photos": encode_photos(photos),
            "read_errors": [e.to_dict() for e in photo_errors],
            "source": "api",
            "content_sha256": certificates.json_digest(runtime, rows),
            "idempotency_key": key,
            "actor": f"token {token.prefix}…",
        },
        dedupe_key=f"api:{key}",
    )
    audit_request(
        "batch.issue",
        body_id=body_id,
        outcome="queued" if created else "replayed",
        detail={"rows": len(numbered), "job": job.id, "key": key},
    )
    return accepted(job)


@bp.get("/batches/<batch_id>")
@require_token(*_READ)
@documented(
    _issuing(
        "getBatch",
        "A batch and its certificates",
        params=(Param("batch_id", {"type": "string", "maxLength": 64}, where="path"),),
        responses={200: Answer("The batch.", schemas.Batch), **_errors(401, 403, 404)},
    )
)
def get_batch(batch_id: str) -> ResponseReturnValue:
    """A batch of the token's body and its certificates."""
    body_id = token_body_id(current_token())
    runtime = runtime_of(current_app)
    with runtime.db.session() as session:
        batch = certificates.get_batch(session, body_id, batch_id[:64])
        return _no_store(_batch_json(session, batch, runtime.settings.public_url))


@bp.get("/certificates/<number>")
@require_token(*_READ)
@documented(
    _issuing(
        "getCertificate",
        "A certificate of the token's body, with its history",
        params=(_NUMBER,),
        responses={200: Answer("The certificate.", IssuedCertificate), **_errors(401, 403, 404)},
    )
)
def get_certificate(number: str) -> ResponseReturnValue:
    """A certificate of the token's body, with its corrections and events."""
    body_id = token_body_id(current_token())
    runtime = runtime_of(current_app)
    with (
        audited_request("certificate.view", body_id=body_id, target=number[:64]) as entry,
        runtime.db.session() as session,
    ):
        cert = certificates.get_certificate(session, body_id, number[:64])
        payload = _certificate_json(session, cert, runtime.settings.public_url)
        entry.target = cert.number
    return _no_store(payload)


@bp.get("/certificates/<number>/pdf")
@require_token(*_READ)
@documented(
    _issuing(
        "getCertificatePdf",
        "The certificate as print-ready A4 PDF",
        description=(
            "One page with every certified field (the ID number in full: this is the "
            "holder's own document), the seal and the QR; the signed record and QR token are "
            "attached. A revoked or superseded certificate is marked as such across the page "
            "with the reason or the superseding number."
        ),
        params=(_NUMBER,),
        responses={
            200: Answer(
                "The PDF.",
                media_type="application/pdf",
                schema={"type": "string", "format": "binary"},
            ),
            **_errors(401, 403, 404),
        },
    )
)
def certificate_pdf(number: str) -> ResponseReturnValue:
    """The certificate as A4 PDF with its signed record attached; a revoked or superseded
    certificate comes marked as such across the page."""
    from certsvc.render import render_certificate
    from certsvc.render.batch import certificate_face, stored_seal

    body_id = token_body_id(current_token())
    runtime = runtime_of(current_app)
    with runtime.db.session() as session:
        cert = certificates.get_certificate(session, body_id, number[:64])
        face = certificate_face(session, cert.number, runtime.settings.public_url, runtime.vault)
        seal = stored_seal(session, face.body_code)
    data = render_certificate(face, seal)
    audit_request("certificate.pdf", body_id=body_id, target=face.number)
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{face.number}.pdf"'
    response.headers["Cache-Control"] = "no-store"  # it carries the holder's full ID number
    return response


def _own_certificate(number: str, action: str) -> tuple[TokenIdentity, int, str]:
    """The request's token, its body, and the number of that body's certificate ``number``
    (NotFound when the body has none: another body's certificates do not exist for it; the
    attempt to ``action`` one is audited)."""
    token = current_token()
    body_id = token_body_id(token)
    try:
        with runtime_of(current_app).db.session() as session:
            found = certificates.get_certificate(session, body_id, number[:64]).number
    except NotFound as exc:
        detail = {"error": exc.code}
        audit_request(action, body_id=body_id, target=number[:64], outcome="failed", detail=detail)
        raise
    return token, body_id, found


@bp.post("/certificates/<number>/revoke")
@require_token(*_REVOKE)
@documented(
    _issuing(
        "revokeCertificate",
        "Revoke a certificate (the reason is shown on verification)",
        params=(_NUMBER,),
        body=RevokeRequest,
        responses={
            200: Answer("Revoked.", IssuedCertificate),
            **_errors(400, 401, 403, 404, 409, 422),
        },
    )
)
def revoke_certificate(number: str) -> ResponseReturnValue:
    """Revoke with a reason; the reason is shown to everyone who verifies."""
    token, body_id, number = _own_certificate(number, "certificate.revoke")
    runtime = runtime_of(current_app)
    reason = parse(RevokeRequest).reason
    with audited_request("certificate.revoke", body_id=body_id, target=number) as entry:
        certificates.revoke(runtime, body_id, number, reason, actor=f"token {token.prefix}…")
        entry.detail["reason"] = reason.strip()
    with runtime.db.session() as session:
        cert = certificates.get_certificate(session, body_id, number)
        return _no_store(_certificate_json(session, cert, runtime.settings.public_url))


@bp.post("/certificates/<number>/reissue")
@require_token(*_ISSUE)
@documented(
    _issuing(
        "reissueCertificate",
        "Correct a certificate: a new one supersedes it",
        description=(
            "Issues a new certificate with the changed fields; the old one becomes "
            "superseded. Both stay in the history and in the registry feed. The ID "
            "number is kept unless a new one is given. Idempotency-Key is optional."
        ),
        params=(_NUMBER, _idempotency(required=False)),
        body=ReissueRequest,
        responses={
            201: Answer("The corrected certificate.", Reissued),
            200: Answer("Issued before: the stored correction.", Reissued),
            **_errors(400, 401, 403, 404, 409, 422),
        },
    )
)
def reissue_certificate(number: str) -> ResponseReturnValue:
    """Issue a corrected certificate that supersedes this one (e.g. a name typo)."""
    token, body_id, number = _own_certificate(number, "certificate.correct")
    runtime = runtime_of(current_app)
    key = _idempotency_key(required=False)
    data, rows, errors = _read_rows(ReissueRequest, "changes")
    if not data["changes"]:  # the document's minProperties
        raise InvalidRequest(
            N_("'changes' must be an object of field: new text, e.g. {example}"),
            example='{"name": "张三丰"}',
        )
    if errors:
        return _rejected(BatchRejected(errors))
    values = rows[0][1]
    try:
        with audited_request("certificate.correct", body_id=body_id, target=number[:64]) as entry:
            result = certificates.reissue(
                runtime,
                body_id,
                number[:64],
                values,
                actor=f"token {token.prefix}…",
                source="api",
                idempotency_key=key,
            )
            new_number = result.certificates[0].number
            entry.outcome = "replayed" if result.replayed else "ok"
            entry.detail.update(new=new_number, batch=result.batch_id)
    except BatchRejected as exc:
        return _rejected(exc)
    with runtime.db.session() as session:
        cert = certificates.get_certificate(session, body_id, new_number)
        payload = {
            "batch_id": result.batch_id,
            "replayed": result.replayed,
            "certificate": _certificate_json(session, cert, runtime.settings.public_url),
        }
    return _no_store(payload, 200 if result.replayed else 201)
