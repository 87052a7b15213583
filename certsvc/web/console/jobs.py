"""Jobs in the console: start a batch's ZIP or print PDF or a statistics export (each POST
carries the CSRF token the console checks), watch its progress, download the result.

The job page shows a progress bar that a small script (``static/jobs.js``) updates from
``/console/jobs/<id>/status.json`` without reloading; without JavaScript the page reloads
itself every few seconds (``<noscript><meta http-equiv="refresh">``) until the job ends.
Every job belongs to a body: another body's job is "not found", for the page, the status and
the download alike (:func:`certsvc.jobs.service.get_job` takes the body).
"""

from __future__ import annotations

from flask import Response, current_app, redirect, render_template, stream_with_context, url_for
from flask.typing import ResponseReturnValue

from certsvc.accounts.permissions import Permission
from certsvc.errors import NotFound
from certsvc.i18n import N_, gettext
from certsvc.issuance import certificates as certificate_service
from certsvc.jobs import service
from certsvc.models.jobs import Job
from certsvc.registry.stats import FORMATS
from certsvc.web import runtime_of
from certsvc.web.authz import audit_request, principal, requires
from certsvc.web.console import bp
from certsvc.web.console.forms import ActionForm
from certsvc.web.console.i18n import job_state_name

#: The job page may run its one script and fetch its status from this origin.
JOB_PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
#: Seconds between reloads of the job page when the browser runs no JavaScript.
REFRESH_SECONDS = 3


def _body_id() -> int:
    body_id = principal().body_id
    assert body_id is not None
    return body_id


def error_text(job: Job) -> str:
    """Why the job failed, in the reader's language (the message kept with the job)."""
    return str(service.error_text(job))


def row_errors(job: Job) -> list[dict[str, object]]:
    """A rejected batch's row errors, in the reader's language."""
    return [e.to_dict() for e in service.row_errors(job)[:200]]


def _status(job: Job) -> dict[str, object]:
    data = service.job_json(job)  # its error and row errors in the request's language
    data["state_name"] = job_state_name(job.state)
    data["label"] = _progress_label(job)
    data["page_url"] = url_for("console.job", job_id=job.id)
    data["result_url"] = (
        url_for("console.job_result", job_id=job.id) if data["result"] is not None else None
    )
    return data


def _progress_label(job: Job) -> str:
    if job.state == "queued":
        return gettext("Waiting for a free worker…")
    if job.progress_total:
        return gettext(
            "{done} of {total} ({percent}%)",
            done=job.progress_done,
            total=job.progress_total,
            percent=service.percent(job),
        )
    return job_state_name(job.state)


def _submit_render(kind: str, batch_id: str) -> ResponseReturnValue:
    runtime = runtime_of(current_app)
    with runtime.db.session() as session:
        batch = certificate_service.get_batch(session, _body_id(), batch_id)
    job, _ = service.submit(
        runtime,
        batch.body_id,
        kind,
        {"batch_id": batch.id},
        created_by=principal().username,
        total=batch.row_count,
    )
    audit_request(f"job.{kind}", body_id=batch.body_id, target=batch.id, detail={"job": job.id})
    return redirect(url_for("console.job", job_id=job.id), code=303)


@bp.post("/batches/<batch_id>/zip")
@requires(Permission.READ)
def batch_zip_job(batch_id: str) -> ResponseReturnValue:
    """Start rendering the batch as a ZIP of PDFs; go to the job's page."""
    return _submit_render("batch_zip", batch_id)


@bp.post("/batches/<batch_id>/print")
@requires(Permission.READ)
def batch_print_job(batch_id: str) -> ResponseReturnValue:
    """Start rendering the batch as one print PDF; go to the job's page."""
    return _submit_render("batch_print", batch_id)


@bp.post("/stats/export/<fmt>")
@requires(Permission.READ)
def stats_export_job(fmt: str) -> ResponseReturnValue:
    """Start an export of the body's statistics (xlsx, csv or json)."""
    if fmt not in FORMATS:
        raise NotFound(
            N_("no export format {fmt!r}; the formats are {formats}"),
            fmt=fmt[:10],
            formats=", ".join(FORMATS),
        )
    runtime = runtime_of(current_app)
    job, _ = service.submit(
        runtime, _body_id(), "stats_export", {"format": fmt}, created_by=principal().username
    )
    audit_request("job.stats_export", body_id=_body_id(), detail={"job": job.id})
    return redirect(url_for("console.job", job_id=job.id), code=303)


@bp.get("/jobs")
@requires(Permission.READ)
def jobs() -> ResponseReturnValue:
    """The body's recent jobs."""
    with runtime_of(current_app).db.session() as session:
        rows = service.list_jobs(session, _body_id())
    return render_template(
        "console/jobs.html",
        jobs=rows,
        percent=service.percent,
        form=ActionForm(),
        formats=FORMATS,
    )


@bp.get("/jobs/<job_id>")
@requires(Permission.READ)
def job(job_id: str) -> ResponseReturnValue:
    """One job: a progress bar until it ends, then its result or its error."""
    with runtime_of(current_app).db.session() as session:
        found = service.get_job(session, _body_id(), job_id)
    html = render_template(
        "console/job.html",
        job=found,
        status=_status(found),
        error_text=error_text(found),
        row_errors=row_errors(found),
        refresh=REFRESH_SECONDS,
    )
    response = Response(html)
    response.headers["Content-Security-Policy"] = JOB_PAGE_POLICY
    return response


@bp.get("/jobs/<job_id>/status.json")
@requires(Permission.READ)
def job_status(job_id: str) -> ResponseReturnValue:
    """The job's state and progress, for the page's script."""
    with runtime_of(current_app).db.session() as session:
        found = service.get_job(session, _body_id(), job_id)
    return _status(found)


@bp.get("/jobs/<job_id>/result")
@requires(Permission.READ)
def job_result(job_id: str) -> ResponseReturnValue:
    """Download the job's result (a ZIP, a PDF, an export), streamed from storage."""
    runtime = runtime_of(current_app)
    found, chunks = service.result_chunks(runtime, _body_id(), job_id)
    audit_request(
        "job.download", body_id=found.body_id, target=found.id, detail={"kind": found.kind}
    )
    response = Response(stream_with_context(chunks), mimetype=found.result_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{found.result_name}"'
    response.headers["Content-Length"] = str(found.result_size)
    return response
