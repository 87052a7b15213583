"""Import: the template, upload → preview with every row's errors → confirm → issued batch.

Between preview and confirm the file travels with the form, compressed, next to a signed
ticket (account, body, content digest, file name; valid for an hour). The confirm step checks
the ticket, that the content is the previewed content, and issues it through
:func:`~certsvc.issuance.certificates.issue_batch`, which validates everything again inside its
transaction — all or nothing. A stateless server needs no store for pending uploads this way.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeTimedSerializer

from certsvc.accounts.permissions import Permission
from certsvc.domain.ids import redact_id_numbers
from certsvc.errors import BadFile, BatchRejected, BodySuspended, InvalidInput
from certsvc.i18n import gettext, ngettext
from certsvc.issuance import certificates
from certsvc.issuance.columns import COLUMNS, template_choices
from certsvc.issuance.rows import ParsedFile, read_results_file
from certsvc.issuance.service import issue_batch
from certsvc.issuance.template import template_csv, template_xlsx
from certsvc.jobs.service import ASYNC_IMPORT_ROWS, encode_rows
from certsvc.jobs.service import submit as submit_job
from certsvc.web import runtime_of
from certsvc.web.authz import audit_request, audited_request, principal, requires
from certsvc.web.console import bp
from certsvc.web.console.forms import ConfirmImportForm, UploadForm

TICKET_MAX_AGE = 3600
_MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def _tickets() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="certsvc-console-import")


def _inflate(packed: bytes) -> bytes:
    """Decompress at most the upload limit (a forged form could hold a zip bomb)."""
    inflater = zlib.decompressobj()
    data = inflater.decompress(packed, _MAX_UPLOAD_BYTES + 1)
    if inflater.unconsumed_tail or not inflater.eof:
        raise ValueError("the content is larger than an upload may be, or cut short")
    return data


@bp.get("/import")
@requires(Permission.ISSUE)
def import_start() -> ResponseReturnValue:
    """The upload form and the templates."""
    return render_template("console/import.html", form=UploadForm())


@bp.get("/import/template.xlsx")
@requires(Permission.ISSUE)
def import_template_xlsx() -> ResponseReturnValue:
    """The XLSX template with drop-down lists for ID type, level, route and ground."""
    response = Response(
        template_xlsx(template_choices()),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response.headers["Content-Disposition"] = 'attachment; filename="certsvc-template.xlsx"'
    return response


@bp.get("/import/template.csv")
@requires(Permission.ISSUE)
def import_template_csv() -> ResponseReturnValue:
    response = Response(template_csv(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="certsvc-template.csv"'
    return response


@bp.post("/import")
@requires(Permission.ISSUE)
def import_preview() -> ResponseReturnValue:
    """Read and check the uploaded file; show every row with its errors, issue nothing."""
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("console/import.html", form=form), 422
    upload = form.file.data
    # The name is stored (batch, audit log) and shown: a name may carry an ID number.
    filename = redact_id_numbers(upload.filename or "upload")[:255]
    data = upload.read(_MAX_UPLOAD_BYTES + 1)
    who = principal()
    body_id = who.body_id
    assert body_id is not None
    runtime = runtime_of(current_app)
    try:
        if len(data) > _MAX_UPLOAD_BYTES:
            raise BadFile("the file is larger than 20 MB: split it into several files")
        parsed = read_results_file(data, filename, max_rows=runtime.settings.max_batch_rows)
    except BadFile as exc:
        audit_request(
            "import.preview",
            body_id=body_id,
            target=filename,
            outcome="rejected",
            # The code only: a message about the file may quote what is in it.
            detail={"error": exc.code},
        )
        form.file.errors = [exc.message]
        return render_template("console/import.html", form=form), 422
    digest = certificates.batch_digest(runtime, data)
    rows = [(r.row, r.values) for r in parsed.rows]
    try:
        preview = certificates.preview_rows(runtime, body_id, rows, parsed.errors, digest)
    except BodySuspended as exc:
        audit_request(
            "import.preview",
            body_id=body_id,
            target=filename,
            outcome="refused",
            detail={"error": exc.code},
        )
        form.file.errors = [exc.message]
        return render_template("console/import.html", form=form), exc.http_status
    audit_request(
        "import.preview",
        body_id=body_id,
        target=filename,
        outcome="ok" if preview.ok else "rejected",
        detail={"rows": len(rows), "errors": preview.error_count},
    )
    confirm = ConfirmImportForm()
    if preview.ok and preview.issued_batch_id is None:
        confirm.ticket.data = _tickets().dumps(
            {"a": who.account_id, "b": body_id, "d": digest, "f": filename}
        )
        confirm.content.data = base64.b64encode(zlib.compress(data, 6)).decode()
    return render_template(
        "console/preview.html",
        preview=preview,
        columns=COLUMNS,
        filename=filename,
        confirm=confirm,
        upload=UploadForm(formdata=None),
    ), (200 if preview.ok else 422)


def _issue_as_job(
    ticket: dict[str, Any], body_code: str, parsed: ParsedFile, filename: str
) -> ResponseReturnValue:
    """A large file is issued by a job; the browser goes to the job's progress page.

    Confirming the same file again finds the same job (the content digest is its key).
    """
    who = principal()
    job, created = submit_job(
        runtime_of(current_app),
        ticket["b"],
        "import",
        {"source": parsed.format, "rows": len(parsed.rows), "file": filename},
        created_by=who.username,
        total=len(parsed.rows),
        payload={
            "body_code": body_code,
            "rows": encode_rows([(r.row, r.values) for r in parsed.rows]),
            "read_errors": [e.to_record() for e in parsed.errors],
            "source": parsed.format,
            "content_sha256": ticket["d"],
            "filename": filename,
            "actor": who.username,
        },
        dedupe_key=f"file:{ticket['d']}",
    )
    audit_request(
        "batch.issue",
        body_id=who.body_id,
        target=filename,
        outcome="queued" if created else "replayed",
        detail={"rows": len(parsed.rows), "job": job.id},
    )
    return redirect(url_for("console.job", job_id=job.id), code=303)


@bp.post("/import/confirm")
@requires(Permission.ISSUE)
def import_confirm() -> ResponseReturnValue:
    """Issue the previewed file: every row or none."""
    form = ConfirmImportForm()
    who = principal()
    runtime = runtime_of(current_app)
    if not form.validate_on_submit():
        raise InvalidInput("the confirmation is incomplete: upload the file again")
    try:
        ticket = _tickets().loads(str(form.ticket.data), max_age=TICKET_MAX_AGE)
        data = _inflate(base64.b64decode(str(form.content.data), validate=True))
    except (BadSignature, binascii.Error, zlib.error, ValueError) as exc:
        raise InvalidInput(
            "the confirmation has expired or was altered: upload the file again"
        ) from exc
    if (
        not isinstance(ticket, dict)
        or ticket.get("a") != who.account_id
        or ticket.get("b") != who.body_id
        or len(data) > _MAX_UPLOAD_BYTES
        or certificates.batch_digest(runtime, data) != ticket.get("d")
    ):
        raise InvalidInput("the confirmation does not match the previewed file: upload it again")
    filename = str(ticket.get("f", "upload"))
    with runtime.db.session() as session:
        body = certificates.body_by_id(session, ticket["b"])
        body_code = body.code
    parsed = read_results_file(data, filename, max_rows=runtime.settings.max_batch_rows)
    if len(parsed.rows) > ASYNC_IMPORT_ROWS:
        return _issue_as_job(ticket, body_code, parsed, filename)
    try:
        with audited_request("batch.issue", body_id=who.body_id, target=filename) as entry:
            result = issue_batch(
                runtime,
                body_code,
                [(r.row, r.values) for r in parsed.rows],
                source=parsed.format,
                content_sha256=ticket["d"],
                filename=filename,
                actor=who.username,
                read_errors=parsed.errors,
            )
            entry.target = result.batch_id
            entry.outcome = "replayed" if result.replayed else "ok"
            entry.detail.update(file=filename, certificates=len(result.certificates))
    except BatchRejected:
        # Something changed since the preview (another batch, the scope): show it afresh.
        preview = certificates.preview_rows(
            runtime,
            ticket["b"],
            [(r.row, r.values) for r in parsed.rows],
            parsed.errors,
            ticket["d"],
        )
        return render_template(
            "console/preview.html",
            preview=preview,
            columns=COLUMNS,
            filename=filename,
            confirm=ConfirmImportForm(formdata=None),
            upload=UploadForm(formdata=None),
        ), 422
    if result.replayed:
        flash(gettext("This file was issued before; nothing new was issued."))
    else:
        flash(
            ngettext(
                "Issued {n} certificate.",
                "Issued {n} certificates.",
                len(result.certificates),
            )
        )
    return redirect(url_for("console.batch", batch_id=result.batch_id), code=303)
