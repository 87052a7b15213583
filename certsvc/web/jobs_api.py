"""Jobs in the issuing API (bearer token of a body): long work answers ``202 Accepted``.

=======  ==========================================  =========================
method   path                                        permission (token roles)
=======  ==========================================  =========================
POST     ``/api/v1/batches/{id}/zip``                read (admin, issuer, viewer)
POST     ``/api/v1/batches/{id}/print``              read
GET      ``/api/v1/jobs/{id}``                       read
GET      ``/api/v1/jobs/{id}/result``                read
=======  ==========================================  =========================

A 202 carries ``Location: /api/v1/jobs/{id}`` and the job; poll it until ``finished`` is
true, then fetch ``result.url``. ``POST /api/v1/batches`` with more than
:data:`~certsvc.jobs.service.ASYNC_IMPORT_ROWS` rows answers 202 the same way
(:mod:`certsvc.web.issuing_api`). A job of another body answers 404, as one that does not
exist.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, stream_with_context, url_for
from flask.typing import ResponseReturnValue

from certsvc import certificates as certificate_service
from certsvc import services_of
from certsvc.accounts import Permission, roles_with
from certsvc.apitokens import current_token, require_token
from certsvc.errors import PermissionDenied
from certsvc.jobs import service
from certsvc.jobs.models import Job
from certsvc.web.authz import audit_request

__all__ = [
    "accepted",
    "bp",
    "job_payload",
    "openapi_paths",
    "openapi_schemas",
    "openapi_security_schemes",
]

bp = Blueprint("jobs_api", __name__, url_prefix="/api/v1")

_READ = roles_with(Permission.READ)


def _body_id() -> int:
    token = current_token()
    if token.body_id is None:
        raise PermissionDenied(
            f"the token {token.prefix}… is not tied to a certification body; "
            "create the token in the console of the body that issues"
        )
    return token.body_id


def job_payload(job: Job) -> dict[str, Any]:
    """The job as JSON, with its own URL and (once it succeeded) its result's URL."""
    data = service.job_json(job)
    data["url"] = url_for("jobs_api.get_job", job_id=job.id)
    if data["result"] is not None:
        data["result"]["url"] = url_for("jobs_api.job_result", job_id=job.id)
    return data


def accepted(job: Job) -> ResponseReturnValue:
    """``202 Accepted`` for a job: Location is the job's URL, the body the job."""
    response = jsonify(job_payload(job))
    response.status_code = 202
    response.headers["Location"] = url_for("jobs_api.get_job", job_id=job.id)
    response.headers["Cache-Control"] = "no-store"
    return response


def _render(kind: str, batch_id: str) -> ResponseReturnValue:
    body_id = _body_id()
    services = services_of(current_app)
    with services.db.session() as session:
        batch = certificate_service.get_batch(session, body_id, batch_id[:64])
    token = current_token()
    job, _ = service.submit(
        services,
        body_id,
        kind,
        {"batch_id": batch.id},
        created_by=f"token {token.prefix}…",
        total=batch.row_count,
    )
    audit_request(f"job.{kind}", body_id=body_id, target=batch.id, detail={"job": job.id})
    return accepted(job)


@bp.post("/batches/<batch_id>/zip")
@require_token(*_READ)
def batch_zip(batch_id: str) -> ResponseReturnValue:
    """Start rendering the batch as a ZIP of certificate PDFs."""
    return _render("batch_zip", batch_id)


@bp.post("/batches/<batch_id>/print")
@require_token(*_READ)
def batch_print(batch_id: str) -> ResponseReturnValue:
    """Start rendering the batch as one print PDF."""
    return _render("batch_print", batch_id)


@bp.get("/jobs/<job_id>")
@require_token(*_READ)
def get_job(job_id: str) -> ResponseReturnValue:
    """A job's state, progress, and result or error."""
    with services_of(current_app).db.session() as session:
        job = service.get_job(session, _body_id(), job_id)
    response = jsonify(job_payload(job))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/jobs/<job_id>/result")
@require_token(*_READ)
def job_result(job_id: str) -> ResponseReturnValue:
    """The finished job's file (ZIP, PDF or export)."""
    job, chunks = service.result_chunks(services_of(current_app), _body_id(), job_id)
    audit_request("job.download", body_id=job.body_id, target=job.id, detail={"kind": job.kind})
    response = Response(stream_with_context(chunks), mimetype=job.result_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{job.result_name}"'
    response.headers["Content-Length"] = str(job.result_size)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- OpenAPI -------------------------------------------------------------------------------

_SECURITY: list[dict[str, list[str]]] = [{"issuingToken": []}]


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IssuingError"}}},
    }


def _accepted() -> dict[str, Any]:
    return {
        "description": "Accepted: the work runs as a job; poll the job's URL (Location).",
        "headers": {"Location": {"schema": {"type": "string"}, "description": "The job's URL."}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}},
    }


def _id(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "maxLength": 64},
        "description": description,
    }


def openapi_paths() -> dict[str, Any]:
    """The job routes' ``paths`` for ``/api/v1/openapi.json``."""
    batch = _id("batch_id", "Batch id (as returned when the batch was issued).")
    job = _id("job_id", "Job id (from a 202 response's Location).")
    auth = {
        "401": _error("No bearer token, or an unknown or revoked one."),
        "403": _error("The token belongs to no body."),
        "404": _error("No such batch or job of the token's body."),
    }

    def render(what: str, op: str) -> dict[str, Any]:
        return {
            "post": {
                "operationId": op,
                "summary": f"Start rendering a batch as {what} (a job)",
                "tags": ["jobs"],
                "security": _SECURITY,
                "parameters": [batch],
                "responses": {"202": _accepted(), **auth},
            }
        }

    return {
        "/api/v1/batches/{batch_id}/zip": render("a ZIP of certificate PDFs", "startBatchZip"),
        "/api/v1/batches/{batch_id}/print": render("one print PDF", "startBatchPrint"),
        "/api/v1/jobs/{job_id}": {
            "get": {
                "operationId": "getJob",
                "summary": "A job's state, progress and result or error",
                "tags": ["jobs"],
                "security": _SECURITY,
                "parameters": [job],
                "responses": {
                    "200": {
                        "description": "The job.",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Job"}}
                        },
                    },
                    **auth,
                },
            }
        },
        "/api/v1/jobs/{job_id}/result": {
            "get": {
                "operationId": "getJobResult",
                "summary": "Download a finished job's file",
                "tags": ["jobs"],
                "security": _SECURITY,
                "parameters": [job],
                "responses": {
                    "200": {
                        "description": "The file (ZIP, PDF, or statistics export).",
                        "content": {
                            "application/zip": {"schema": {"type": "string", "format": "binary"}},
                            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                        },
                    },
                    **auth,
                    "409": _error("The job has not succeeded (yet); it has no result."),
                    "410": _error("The result was kept for a while and has been deleted."),
                },
            }
        },
    }


def openapi_schemas() -> dict[str, Any]:
    """The ``Job`` schema."""
    nullable_time = {"type": ["string", "null"], "format": "date-time"}
    return {
        "Job": {
            "type": "object",
            "required": ["id", "kind", "state", "finished", "progress", "url"],
            "properties": {
                "id": {"type": "string"},
                "kind": {"enum": ["batch_zip", "batch_print", "import", "stats_export"]},
                "state": {"enum": ["queued", "running", "succeeded", "failed", "expired"]},
                "finished": {"type": "boolean"},
                "progress": {
                    "type": "object",
                    "required": ["done", "total", "percent"],
                    "properties": {
                        "done": {"type": "integer"},
                        "total": {"type": "integer"},
                        "percent": {"type": "integer", "minimum": 0, "maximum": 100},
                    },
                },
                "attempts": {"type": "integer"},
                "params": {"type": "object"},
                "created_by": {"type": "string"},
                "created_at": nullable_time,
                "started_at": nullable_time,
                "finished_at": nullable_time,
                "expires_at": nullable_time,
                "outcome": {
                    "type": "object",
                    "description": "An import's issued batch: batch_id, certificates, replayed.",
                },
                "result": {
                    "type": ["object", "null"],
                    "properties": {
                        "name": {"type": "string"},
                        "type": {"type": "string"},
                        "size": {"type": "integer"},
                        "url": {"type": "string"},
                    },
                },
                "error": {
                    "type": ["object", "null"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                },
                "url": {"type": "string"},
            },
        }
    }


def openapi_security_schemes() -> dict[str, Any]:
    """None of its own: the job routes take the issuing API's bearer token."""
    return {}
