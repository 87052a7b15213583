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

from certsvc.accounts.permissions import Permission, roles_with
from certsvc.issuance import certificates as certificate_service
from certsvc.jobs import service
from certsvc.models.jobs import Job
from certsvc.web import runtime_of
from certsvc.web.authz import audit_request
from certsvc.web.bearer import current_token, require_token, token_body_id
from certsvc.web.openapi import Answer, Operation, Param, documented
from certsvc.web.schemas import IssuingError
from certsvc.web.schemas import Job as JobAnswer

__all__ = ["accepted", "bp", "job_payload"]

bp = Blueprint("jobs_api", __name__, url_prefix="/api/v1")

_READ = roles_with(Permission.READ)

# --- what the views take and answer (for /api/v1/openapi.json) ----------------------------------

_AUTH = {
    401: Answer(
        "No bearer token, or an unknown or revoked one.",
        headers={"WWW-Authenticate": {"schema": {"type": "string"}}},
    ),
    403: Answer("The token belongs to no body, or its role may not read."),
    404: Answer("No such batch or job of the token's body."),
}
_ACCEPTED = Answer(
    "Accepted: the work runs as a job; poll the job's URL (Location).",
    JobAnswer,
    headers={"Location": {"schema": {"type": "string"}, "description": "The job's URL."}},
)
_BATCH = Param(
    "batch_id",
    {"type": "string", "maxLength": 64},
    where="path",
    description="Batch id (as returned when the batch was issued).",
)
_JOB = Param(
    "job_id",
    {"type": "string", "maxLength": 64},
    where="path",
    description="Job id (from a 202 response's Location).",
)


def _jobs(operation_id: str, summary: str, **rest: Any) -> Operation:
    return Operation(
        operation_id,
        summary,
        tags=("jobs",),
        security="issuingToken",
        error=IssuingError,
        **rest,
    )


def _render_operation(what: str, operation_id: str) -> Operation:
    return _jobs(
        operation_id,
        f"Start rendering a batch as {what} (a job)",
        params=(_BATCH,),
        responses={202: _ACCEPTED, **_AUTH},
    )


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
    body_id = token_body_id(current_token())
    runtime = runtime_of(current_app)
    with runtime.db.session() as session:
        batch = certificate_service.get_batch(session, body_id, batch_id[:64])
    token = current_token()
    job, _ = service.submit(
        runtime,
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
@documented(_render_operation("a ZIP of certificate PDFs", "startBatchZip"))
def batch_zip(batch_id: str) -> ResponseReturnValue:
    """Start rendering the batch as a ZIP of certificate PDFs."""
    return _render("batch_zip", batch_id)


@bp.post("/batches/<batch_id>/print")
@require_token(*_READ)
@documented(_render_operation("one print PDF", "startBatchPrint"))
def batch_print(batch_id: str) -> ResponseReturnValue:
    """Start rendering the batch as one print PDF."""
    return _render("batch_print", batch_id)


@bp.get("/jobs/<job_id>")
@require_token(*_READ)
@documented(
    _jobs(
        "getJob",
        "A job's state, progress and result or error",
        params=(_JOB,),
        responses={200: Answer("The job.", JobAnswer), **_AUTH},
    )
)
def get_job(job_id: str) -> ResponseReturnValue:
    """A job's state, progress, and result or error."""
    with runtime_of(current_app).db.session() as session:
        job = service.get_job(session, token_body_id(current_token()), job_id)
    response = jsonify(job_payload(job))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/jobs/<job_id>/result")
@require_token(*_READ)
@documented(
    _jobs(
        "getJobResult",
        "Download a finished job's file",
        params=(_JOB,),
        responses={
            200: Answer(
                "The file: a ZIP of PDFs, a print PDF, or a statistics export.",
                media_type="application/zip",
                schema={"type": "string", "format": "binary"},
                also=(
                    "application/pdf",
                    "text/csv",
                    "application/json",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
            ),
            **_AUTH,
            409: Answer("The job has not succeeded (yet); it has no result."),
            410: Answer("The result was kept for a while and has been deleted."),
        },
    )
)
def job_result(job_id: str) -> ResponseReturnValue:
    """The finished job's file (ZIP, PDF or export)."""
    job, chunks = service.result_chunks(
        runtime_of(current_app), token_body_id(current_token()), job_id
    )
    audit_request("job.download", body_id=job.body_id, target=job.id, detail={"kind": job.kind})
    response = Response(stream_with_context(chunks), mimetype=job.result_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{job.result_name}"'
    response.headers["Content-Length"] = str(job.result_size)
    response.headers["Cache-Control"] = "no-store"
    return response
