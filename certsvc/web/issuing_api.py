"""The issuing API under ``/api/v1``: what a body's HR system calls (bearer token).

=======  ==========================================  =========================
method   path                                        permission (token roles)
=======  ==========================================  =========================
POST     ``/api/v1/batches``                         issue (issuer)
GET      ``/api/v1/batches/{id}``                    read (admin, issuer, viewer)
GET      ``/api/v1/certificates/{number}``           read
POST     ``/api/v1/certificates/{number}/revoke``    revoke (issuer)
POST     ``/api/v1/certificates/{number}/reissue``   issue (issuer)
=======  ==========================================  =========================

A token belongs to one body (:mod:`certsvc.accounts.tokens`) and sees that body only: a batch or
certificate of another body answers 404, exactly as one that does not exist. A batch is
issued whole or not at all; ``Idempotency-Key`` makes retries safe (the same key and rows
answer the stored batch, 200 with ``replayed: true``; the same key with other rows 409).
Per-row problems answer 422 ``batch_rejected`` with ``rows: [{index, field, message}]``,
``index`` counting from 0 in the submitted ``rows`` array. Every call is audited.

:func:`openapi_paths`, :func:`openapi_schemas` and :func:`openapi_security_schemes` describe
this API for ``/api/v1/openapi.json``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from certsvc.accounts.permissions import Permission, roles_with
from certsvc.accounts.tokens import TokenIdentity
from certsvc.errors import (
    BatchRejected,
    CertsvcError,
    InvalidRequest,
    PermissionDenied,
    RowError,
)
from certsvc.issuance import certificates
from certsvc.issuance.rows import COLUMNS, COLUMNS_BY_KEY, MAX_CELL_CHARS, MAX_EVIDENCE_CHARS
from certsvc.issuance.service import issue_batch
from certsvc.models import Batch, Certificate
from certsvc.models.base import text_limit
from certsvc.verify.core import certificate_fields
from certsvc.verify.result import format_time
from certsvc.web import runtime_of
from certsvc.web.authz import audit_request
from certsvc.web.bearer import current_token, require_token
from certsvc.web.json_body import json_object

__all__ = ["bp", "openapi_paths", "openapi_schemas", "openapi_security_schemes"]

bp = Blueprint("issuing_api", __name__, url_prefix="/api/v1")

MAX_IDEMPOTENCY_KEY = 255
MAX_REASON = text_limit(Certificate.status_reason).max_chars
_IDEMPOTENCY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
FIELDS = tuple(c.key for c in COLUMNS)

_READ = roles_with(Permission.READ)
_ISSUE = roles_with(Permission.ISSUE)
_REVOKE = roles_with(Permission.REVOKE)


def _body_of(token: TokenIdentity) -> int:
    if token.body_id is None:
        raise PermissionDenied(
            f"the token {token.prefix}… is not tied to a certification body; "
            "create the token in the console of the body that issues"
        )
    return token.body_id


def _json_object(allowed: frozenset[str]) -> dict[str, Any]:
    data = json_object()
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InvalidRequest(
            f"unknown member(s) {', '.join(map(repr, unknown))}; "
            f"this operation takes {', '.join(sorted(allowed))}"
        )
    return data


def _idempotency_key(required: bool) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None or not key.strip():
        if required:
            raise InvalidRequest(
                "send an Idempotency-Key header (e.g. a UUID) so a retry never issues twice"
            )
        return None
    if not _IDEMPOTENCY_RE.match(key):
        raise InvalidRequest(
            f"the Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
        )
    return key


def _check_row(index: int, row: object) -> tuple[dict[str, str], list[RowError]]:
    """The row's text values and the problems with its shape (types, names, lengths).

    The content — control characters included — is checked by validate_rows, as for files.
    """
    if not isinstance(row, dict):
        return {}, [RowError(index, "", "each row must be a JSON object of column: text")]
    values: dict[str, str] = {}
    errors: list[RowError] = []
    for key, value in row.items():
        if key not in COLUMNS_BY_KEY:
            errors.append(
                RowError(index, str(key)[:40], f"unknown field; the fields are {', '.join(FIELDS)}")
            )
            continue
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors.append(
                RowError(index, key, "must be a string (write numbers and dates as text)")
            )
            continue
        limit = MAX_EVIDENCE_CHARS if key == "direct_evidence" else MAX_CELL_CHARS
        if len(value) > limit:
            errors.append(RowError(index, key, f"longer than {limit} characters"))
        else:
            values[key] = value.strip()
    return values, errors


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
def create_batch() -> ResponseReturnValue:
    """Issue a batch of rows, all or none; safe to retry with the same Idempotency-Key."""
    token = current_token()
    body_id = _body_of(token)
    key = _idempotency_key(required=True)
    data = _json_object(frozenset({"rows"}))
    rows = data.get("rows")
    runtime = runtime_of(current_app)
    limit = runtime.settings.max_batch_rows
    if not isinstance(rows, list) or not rows:
        raise InvalidRequest("'rows' must be a non-empty array of row objects")
    if len(rows) > limit:
        raise InvalidRequest(f"at most {limit} rows per batch; split the batch")
    checked = [_check_row(i, r) for i, r in enumerate(rows)]
    shape_errors = [e for _, errors in checked for e in errors]
    numbered = [(i, values) for i, (values, _) in enumerate(checked)]
    with runtime.db.session() as session:
        body_code = certificates.body_by_id(session, body_id).code
    try:
        result = issue_batch(
            runtime,
            body_code,
            numbered,
            source="api",
            content_sha256=certificates.json_digest(runtime, rows),
            idempotency_key=key,
            actor=f"token {token.prefix}…",
            read_errors=shape_errors,
        )
    except BatchRejected as exc:
        audit_request(
            "batch.issue",
            body_id=body_id,
            outcome="rejected",
            detail={"rows": len(rows), "errors": len(exc.errors), "key": key},
        )
        return _rejected(exc)
    except CertsvcError as exc:
        audit_request(
            "batch.issue", body_id=body_id, outcome="failed", detail={"error": exc.code, "key": key}
        )
        raise
    audit_request(
        "batch.issue",
        body_id=body_id,
        target=result.batch_id,
        outcome="replayed" if result.replayed else "ok",
        detail={"certificates": len(result.certificates), "key": key},
    )
    with runtime.db.session() as session:
        batch = certificates.get_batch(session, body_id, result.batch_id)
        payload = _batch_json(session, batch, runtime.settings.public_url)
    payload["replayed"] = result.replayed
    payload["superseded"] = result.superseded
    response = _no_store(payload, 200 if result.replayed else 201)
    return response


@bp.get("/batches/<batch_id>")
@require_token(*_READ)
def get_batch(batch_id: str) -> ResponseReturnValue:
    """A batch of the token's body and its certificates."""
    body_id = _body_of(current_token())
    runtime = runtime_of(current_app)
    with runtime.db.session() as session:
        batch = certificates.get_batch(session, body_id, batch_id[:64])
        return _no_store(_batch_json(session, batch, runtime.settings.public_url))


@bp.get("/certificates/<number>")
@require_token(*_READ)
def get_certificate(number: str) -> ResponseReturnValue:
    """A certificate of the token's body, with its corrections and events."""
    body_id = _body_of(current_token())
    runtime = runtime_of(current_app)
    with runtime.db.session() as session:
        cert = certificates.get_certificate(session, body_id, number[:64])
        payload = _certificate_json(session, cert, runtime.settings.public_url)
    audit_request("certificate.view", body_id=body_id, target=cert.number)
    return _no_store(payload)


def _own_certificate(number: str) -> tuple[TokenIdentity, int, str]:
    """The request's token, its body, and the number of that body's certificate ``number``
    (NotFound when the body has none: another body's certificates do not exist for it)."""
    token = current_token()
    body_id = _body_of(token)
    with runtime_of(current_app).db.session() as session:
        return token, body_id, certificates.get_certificate(session, body_id, number[:64]).number


@bp.post("/certificates/<number>/revoke")
@require_token(*_REVOKE)
def revoke_certificate(number: str) -> ResponseReturnValue:
    """Revoke with a reason; the reason is shown to everyone who verifies."""
    token, body_id, number = _own_certificate(number)
    runtime = runtime_of(current_app)
    data = _json_object(frozenset({"reason"}))
    reason = data.get("reason")
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise InvalidRequest(f"'reason' must be a string of at most {MAX_REASON} characters")
    try:
        certificates.revoke(runtime, body_id, number, reason, actor=f"token {token.prefix}…")
    except CertsvcError as exc:
        audit_request(
            "certificate.revoke",
            body_id=body_id,
            target=number,
            outcome="failed",
            detail={"error": exc.code},
        )
        raise
    audit_request(
        "certificate.revoke", body_id=body_id, target=number, detail={"reason": reason.strip()}
    )
    with runtime.db.session() as session:
        cert = certificates.get_certificate(session, body_id, number)
        return _no_store(_certificate_json(session, cert, runtime.settings.public_url))


@bp.post("/certificates/<number>/reissue")
@require_token(*_ISSUE)
def reissue_certificate(number: str) -> ResponseReturnValue:
    """Issue a corrected certificate that supersedes this one (e.g. a name typo)."""
    token, body_id, number = _own_certificate(number)
    runtime = runtime_of(current_app)
    key = _idempotency_key(required=False)
    data = _json_object(frozenset({"changes"}))
    changes = data.get("changes")
    if not isinstance(changes, dict) or not changes:
        raise InvalidRequest(
            '\'changes\' must be an object of field: new text, e.g. {"name": "张三丰"}'
        )
    values, errors = _check_row(0, changes)
    unknown = sorted(set(values) - set(certificates.CORRECTABLE))
    if errors or unknown:
        errors += [RowError(0, k, "cannot be changed by a correction") for k in unknown]
        return _rejected(BatchRejected(errors))
    try:
        result = certificates.reissue(
            runtime,
            body_id,
            number[:64],
            values,
            actor=f"token {token.prefix}…",
            source="api",
            idempotency_key=key,
        )
    except BatchRejected as exc:
        audit_request(
            "certificate.correct", body_id=body_id, target=number[:64], outcome="rejected"
        )
        return _rejected(exc)
    except CertsvcError as exc:
        audit_request(
            "certificate.correct",
            body_id=body_id,
            target=number[:64],
            outcome="failed",
            detail={"error": exc.code},
        )
        raise
    new_number = result.certificates[0].number
    audit_request(
        "certificate.correct",
        body_id=body_id,
        target=number[:64],
        outcome="replayed" if result.replayed else "ok",
        detail={"new": new_number, "batch": result.batch_id},
    )
    with runtime.db.session() as session:
        cert = certificates.get_certificate(session, body_id, new_number)
        payload = {
            "batch_id": result.batch_id,
            "replayed": result.replayed,
            "certificate": _certificate_json(session, cert, runtime.settings.public_url),
        }
    return _no_store(payload, 200 if result.replayed else 201)


# --- OpenAPI -------------------------------------------------------------------------------

_SECURITY: list[dict[str, list[str]]] = [{"issuingToken": []}]
_TEXT = {"type": "string"}
_NULLABLE_TEXT = {"type": ["string", "null"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: str) -> dict[str, Any]:
    descriptions = {
        "400": "The request cannot be read (not a JSON object, unknown member, bad header).",
        "401": "No bearer token, or an unknown or revoked one.",
        "403": "The token's role may not do this, or it belongs to no body.",
        "404": "No such batch or certificate of the token's body.",
        "409": "Conflicts with what is stored (already revoked; key reused for other rows).",
        "422": "Rejected: nothing was issued; per-row problems in error.rows.",
    }
    out = {s: _json(_ref("IssuingError"), descriptions[s]) for s in statuses}
    if "401" in out:
        out["401"]["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return out


_NUMBER = {
    "name": "number",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "maxLength": 64},
    "description": "Certificate number (22 characters).",
}


def openapi_paths() -> dict[str, Any]:
    """The ``paths`` of the issuing API, for ``/api/v1/openapi.json``."""
    return {
        "/api/v1/batches": {
            "post": {
                "operationId": "issueBatch",
                "summary": "Issue a batch of certificates, all or none",
                "description": (
                    "Validates every row (format, check digits, scope, members, duplicates) and "
                    "issues all of them in one transaction, or none. Retrying with the same "
                    "Idempotency-Key and rows answers the stored batch (200, replayed: true); "
                    "the same key with other rows is refused (409). Needs the issuer role."
                ),
                "tags": ["issuing"],
                "security": _SECURITY,
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
                        "description": "A key unique per batch, e.g. a UUID.",
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("IssuingBatchRequest")}},
                },
                "responses": {
                    "201": _json(_ref("IssuedBatch"), "Issued."),
                    "200": _json(_ref("IssuedBatch"), "Issued before: the stored batch."),
                    **_errors("400", "401", "403", "409", "422"),
                },
            }
        },
        "/api/v1/batches/{batch_id}": {
            "get": {
                "operationId": "getBatch",
                "summary": "A batch and its certificates",
                "tags": ["issuing"],
                "security": _SECURITY,
                "parameters": [
                    {
                        "name": "batch_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "maxLength": 64},
                    }
                ],
                "responses": {
                    "200": _json(_ref("Batch"), "The batch."),
                    **_errors("401", "403", "404"),
                },
            }
        },
        "/api/v1/certificates/{number}": {
            "get": {
                "operationId": "getCertificate",
                "summary": "A certificate of the token's body, with its history",
                "tags": ["issuing"],
                "security": _SECURITY,
                "parameters": [_NUMBER],
                "responses": {
                    "200": _json(_ref("IssuedCertificate"), "The certificate."),
                    **_errors("401", "403", "404"),
                },
            }
        },
        "/api/v1/certificates/{number}/revoke": {
            "post": {
                "operationId": "revokeCertificate",
                "summary": "Revoke a certificate (the reason is shown on verification)",
                "tags": ["issuing"],
                "security": _SECURITY,
                "parameters": [_NUMBER],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("RevokeRequest")}},
                },
                "responses": {
                    "200": _json(_ref("IssuedCertificate"), "Revoked."),
                    **_errors("400", "401", "403", "404", "409", "422"),
                },
            }
        },
        "/api/v1/certificates/{number}/reissue": {
            "post": {
                "operationId": "reissueCertificate",
                "summary": "Correct a certificate: a new one supersedes it",
                "description": (
                    "Issues a new certificate with the changed fields; the old one becomes "
                    "superseded. Both stay in the history and in the registry feed. The ID "
                    "number is kept unless a new one is given. Idempotency-Key is optional."
                ),
                "tags": ["issuing"],
                "security": _SECURITY,
                "parameters": [
                    _NUMBER,
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ReissueRequest")}},
                },
                "responses": {
                    "201": _json(_ref("Reissued"), "The corrected certificate."),
                    "200": _json(_ref("Reissued"), "Issued before: the stored correction."),
                    **_errors("400", "401", "403", "404", "409", "422"),
                },
            }
        },
    }


def openapi_schemas() -> dict[str, Any]:
    """The ``components.schemas`` the issuing API refers to."""
    fields: dict[str, Any] = {
        c.key: {
            "type": ["string", "null"],
            "maxLength": MAX_EVIDENCE_CHARS if c.key == "direct_evidence" else MAX_CELL_CHARS,
            "description": f"{c.label_zh} / {c.label_en}: {c.hint_en}",
        }
        for c in COLUMNS
    }
    row = {
        "type": "object",
        "description": "One certificate to issue: the columns of the results template.",
        "properties": fields,
        "required": [c.key for c in COLUMNS if c.required],
        "additionalProperties": False,
    }
    brief = {
        "type": "object",
        "properties": {
            "index": {"type": "integer", "description": "Position in the submitted rows."},
            "number": _TEXT,
            "holder_name": _TEXT,
            "status": {"enum": ["valid", "revoked", "superseded"]},
            "verify_url": {"type": "string", "format": "uri"},
        },
        "required": ["index", "number", "holder_name", "status", "verify_url"],
    }
    batch = {
        "type": "object",
        "properties": {
            "id": _TEXT,
            "status": {"enum": ["issued"]},
            "source": {"type": "string", "description": "csv, xlsx, api or console"},
            "created_at": {"type": "string", "format": "date-time"},
            "row_count": {"type": "integer"},
            "certificates": {"type": "array", "items": _ref("IssuedCertificateBrief")},
        },
        "required": ["id", "status", "source", "created_at", "row_count", "certificates"],
    }
    issued_batch = {
        "allOf": [
            _ref("Batch"),
            {
                "type": "object",
                "properties": {
                    "replayed": {"type": "boolean"},
                    "superseded": {"type": "array", "items": _TEXT},
                },
                "required": ["replayed", "superseded"],
            },
        ]
    }
    certificate = {
        "type": "object",
        "description": "Every certified field (masked ID only), status and history.",
        "properties": {
            "number": _TEXT,
            "holder_name": _TEXT,
            "id_type": _TEXT,
            "id_number_masked": _TEXT,
            "employer_uscc": _TEXT,
            "employer_name": _TEXT,
            "occupation_code": _TEXT,
            "occupation_name": _TEXT,
            "work_type": _TEXT,
            "level": _TEXT,
            "level_name": _TEXT,
            "issue_date": {"type": "string", "format": "date"},
            "route": {"enum": ["regular", "direct"]},
            "direct_ground": _NULLABLE_TEXT,
            "direct_evidence": _NULLABLE_TEXT,
            "status": {"enum": ["valid", "revoked", "superseded"]},
            "status_reason": _NULLABLE_TEXT,
            "status_changed_at": _NULLABLE_TEXT,
            "batch_id": _TEXT,
            "verify_url": {"type": "string", "format": "uri"},
            "supersedes": _NULLABLE_TEXT,
            "superseded_by": _NULLABLE_TEXT,
            "history": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "seq": {"type": "integer"},
                        "kind": {"enum": ["issued", "revoked", "superseded"]},
                        "certificate": _NULLABLE_TEXT,
                        "at": {"type": "string", "format": "date-time"},
                        "reason": _NULLABLE_TEXT,
                    },
                },
            },
        },
        "required": ["number", "status", "history", "supersedes", "superseded_by"],
    }
    error = {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": _TEXT,
                    "message": _TEXT,
                    "rows": {
                        "type": "array",
                        "description": "batch_rejected only: every problem, by row and field.",
                        "items": {
                            "type": "object",
                            "properties": {
                                "index": {"type": "integer"},
                                "field": _NULLABLE_TEXT,
                                "message": _TEXT,
                            },
                            "required": ["index", "field", "message"],
                        },
                    },
                },
                "required": ["code", "message"],
            }
        },
        "required": ["error"],
    }
    return {
        "IssuingBatchRequest": {
            "type": "object",
            "properties": {"rows": {"type": "array", "minItems": 1, "items": row}},
            "required": ["rows"],
            "additionalProperties": False,
        },
        "IssuedCertificateBrief": brief,
        "Batch": batch,
        "IssuedBatch": issued_batch,
        "IssuedCertificate": certificate,
        "RevokeRequest": {
            "type": "object",
            "properties": {"reason": {"type": "string", "minLength": 4, "maxLength": MAX_REASON}},
            "required": ["reason"],
            "additionalProperties": False,
        },
        "ReissueRequest": {
            "type": "object",
            "properties": {
                "changes": {
                    "type": "object",
                    "minProperties": 1,
                    "properties": {k: fields[k] for k in certificates.CORRECTABLE},
                    "additionalProperties": False,
                }
            },
            "required": ["changes"],
            "additionalProperties": False,
        },
        "Reissued": {
            "type": "object",
            "properties": {
                "batch_id": _TEXT,
                "replayed": {"type": "boolean"},
                "certificate": _ref("IssuedCertificate"),
            },
            "required": ["batch_id", "replayed", "certificate"],
        },
        "IssuingError": error,
    }


def openapi_security_schemes() -> dict[str, Any]:
    """The bearer-token scheme of the issuing API."""
    return {
        "issuingToken": {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An API token of one certification body (cst_…), created by its admin in the "
                "console; issuer to issue, revoke and reissue, viewer or admin to read."
            ),
        }
    }
