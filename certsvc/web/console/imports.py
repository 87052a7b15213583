"""Import: the template, upload → preview with every row's errors → confirm → issued batch.

Between preview and confirm the file travels with the form, compressed, next to a signed
ticket (account, body, content digest, file name; valid for an hour). The confirm step checks
the ticket, that the content is the previewed content, and issues it through
:func:`~certsvc.issuance.certificates.issue_batch`, which validates everything again inside its
transaction — all or nothing. A stateless server needs no store for pending uploads this way.

Photos come with the results file as a ZIP named by ID number
(:mod:`certsvc.holders.photo_archive`, read streamed from the upload's temporary file). The
preview shows each row's photo as a small thumbnail (a ``data:`` URL, which the console's CSP
allows) and marks rows without a valid one. Between preview and confirm the *normalised*
photos travel like the file: a ZIP of ``<row>.jpg`` in the form, its HMAC in the ticket.
"""

from __future__ import annotations

import base64
import binascii
import io
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeTimedSerializer

from certsvc.accounts.permissions import Permission
from certsvc.domain.ids import redact_id_numbers
from certsvc.errors import BadFile, BatchRejected, BodySuspended, InvalidInput, RowError
from certsvc.holders.photo_archive import PHOTO_COLUMN, read_photo_archive
from certsvc.holders.photos import thumbnail
from certsvc.i18n import N_, bilingual, gettext, ngettext
from certsvc.issuance import certificates
from certsvc.issuance.columns import COLUMNS, template_choices
from certsvc.issuance.photo_rows import archive_photos, missing_photos
from certsvc.issuance.rows import ParsedFile, read_results_file
from certsvc.issuance.service import issue_batch
from certsvc.issuance.template import template_csv, template_xlsx
from certsvc.jobs.service import ASYNC_IMPORT_ROWS, encode_photos, encode_rows
from certsvc.jobs.service import submit as submit_job
from certsvc.web import runtime_of
from certsvc.web.authz import audit_request, audited_request, principal, requires
from certsvc.web.console import bp
from certsvc.web.console.forms import ConfirmImportForm, UploadForm

TICKET_MAX_AGE = 3600
_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: The photos ZIP of one upload (the results file's own limit is separate).
MAX_PHOTOS_ZIP_BYTES = 100 * 1024 * 1024


def _tickets() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="certsvc-console-import")


def _labels() -> dict[str, str]:
    labels = {c.key: bilingual(c.label_zh, c.label_en) for c in COLUMNS}
    labels[PHOTO_COLUMN] = gettext("Photo")
    return labels


def _pack_photos(photos: Mapping[int, bytes]) -> bytes:
    """The normalised photos as a ZIP of ``<row>.jpg`` (stored: JPEGs do not compress)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for number in sorted(photos):
            archive.writestr(f"{number}.jpg", photos[number])
    return out.getvalue()


def _unpack_photos(packed: bytes) -> dict[int, bytes]:
    """What :func:`_pack_photos` packed (its HMAC was checked: it is the previewed content)."""
    if not packed:
        return {}
    with zipfile.ZipFile(io.BytesIO(packed)) as archive:
        return {
            int(info.filename.removesuffix(".jpg")): archive.read(info)
            for info in archive.infolist()
        }


def _thumbnails(photos: Mapping[int, bytes]) -> dict[int, str]:
    """Each row's photo as a small ``data:`` URL for the preview."""
    return {
        number: "data:image/jpeg;base64," + base64.b64encode(thumbnail(jpeg)).decode()
        for number, jpeg in photos.items()
    }


def _read_photos(
    form: Any, body_code: str, rows: list[tuple[int, Mapping[str, str]]]
) -> tuple[dict[int, bytes], list[RowError]]:
    """The upload's photos by row and their problems (none uploaded: only missing ones)."""
    upload = form.photos.data
    archive = None
    if upload is not None and upload.filename:
        stream = upload.stream
        stream.seek(0, io.SEEK_END)
        if stream.tell() > MAX_PHOTOS_ZIP_BYTES:
            raise BadFile(
                N_(
                    "the photos ZIP is larger than {max_photos_zip_bytes} MB: split the results "
                    "file and its photos into several uploads, or use `certsvc issue --photos`"
                ),
                max_photos_zip_bytes=MAX_PHOTOS_ZIP_BYTES // (1024 * 1024),
            )
        stream.seek(0)
        archive = read_photo_archive(stream)
    return archive_photos(runtime_of(current_app), body_code, rows, archive)


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
    field = form.file  # where a refusal is shown: under the results file or the photos ZIP
    try:
        if len(data) > _MAX_UPLOAD_BYTES:
            raise BadFile(N_("the file is larger than 20 MB: split it into several files"))
        parsed = read_results_file(data, filename, max_rows=runtime.settings.max_batch_rows)
        with runtime.db.session() as session:
            body_code = certificates.body_by_id(session, body_id).code
        rows = [(r.row, r.values) for r in parsed.rows]
        field = form.photos
        photos, photo_errors = _read_photos(form, body_code, rows)
    except BadFile as exc:
        audit_request(
            "import.preview",
            body_id=body_id,
            target=filename,
            outcome="rejected",
            # The code only: a message about the file may quote what is in it.
            detail={"error": exc.code},
        )
        field.errors = [exc.message]
        return render_template("console/import.html", form=form), 422
    digest = certificates.batch_digest(runtime, data)
    try:
        preview = certificates.preview_rows(
            runtime, body_id, rows, [*parsed.errors, *photo_errors], digest
        )
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
        detail={"rows": len(rows), "errors": preview.error_count, "photos": len(photos)},
    )
    confirm = ConfirmImportForm()
    if preview.ok and preview.issued_batch_id is None:
        packed = _pack_photos(photos) if photos else b""
        confirm.ticket.data = _tickets().dumps(
            {
                "a": who.account_id,
                "b": body_id,
                "d": digest,
                "f": filename,
                "p": certificates.batch_digest(runtime, packed) if packed else "",
            }
        )
        confirm.content.data = base64.b64encode(zlib.compress(data, 6)).decode()
        confirm.photos.data = base64.b64encode(packed).decode()
    return render_template(
        "console/preview.html",
        preview=preview,
        columns=COLUMNS,
        filename=filename,
        confirm=confirm,
        upload=UploadForm(formdata=None),
        thumbnails=_thumbnails(photos),
        labels=_labels(),
    ), (200 if preview.ok else 422)


def _issue_as_job(
    ticket: dict[str, Any],
    body_code: str,
    parsed: ParsedFile,
    filename: str,
    photos: Mapping[int, bytes],
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
            # The job's input is stored encrypted and dropped when the job ends.
            "photos": encode_photos(photos),
            "source": parsed.format,
            "content_sha256": ticket["d"],
            "filename": filename,
            "actor": who.username,
        },
        dedupe_key=f"file:{ticket['d']}:{ticket.get('p', '')}",
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
        raise InvalidInput(N_("the confirmation is incomplete: upload the file again"))
    try:
        ticket = _tickets().loads(str(form.ticket.data), max_age=TICKET_MAX_AGE)
        data = _inflate(base64.b64decode(str(form.content.data), validate=True))
        packed = base64.b64decode(str(form.photos.data or ""), validate=True)
    except (BadSignature, binascii.Error, zlib.error, ValueError) as exc:
        raise InvalidInput(
            N_("the confirmation has expired or was altered: upload the file again")
        ) from exc
    if (
        not isinstance(ticket, dict)
        or ticket.get("a") != who.account_id
        or ticket.get("b") != who.body_id
        or len(data) > _MAX_UPLOAD_BYTES
        or certificates.batch_digest(runtime, data) != ticket.get("d")
        or (certificates.batch_digest(runtime, packed) if packed else "") != ticket.get("p", "")
    ):
        raise InvalidInput(
            N_("the confirmation does not match the previewed file: upload it again")
        )
    filename = str(ticket.get("f", "upload"))
    with runtime.db.session() as session:
        body = certificates.body_by_id(session, ticket["b"])
        body_code = body.code
    parsed = read_results_file(data, filename, max_rows=runtime.settings.max_batch_rows)
    rows = [(r.row, r.values) for r in parsed.rows]
    photos = _unpack_photos(packed)
    if len(parsed.rows) > ASYNC_IMPORT_ROWS:
        return _issue_as_job(ticket, body_code, parsed, filename, photos)
    try:
        with audited_request("batch.issue", body_id=who.body_id, target=filename) as entry:
            result = issue_batch(
                runtime,
                body_code,
                rows,
                source=parsed.format,
                content_sha256=ticket["d"],
                filename=filename,
                actor=who.username,
                read_errors=[*parsed.errors, *missing_photos(runtime, body_code, rows, photos)],
                photos=photos,
            )
            entry.target = result.batch_id
            entry.outcome = "replayed" if result.replayed else "ok"
            entry.detail.update(
                file=filename, certificates=len(result.certificates), photos=len(photos)
            )
    except BatchRejected:
        # Something changed since the preview (another batch, the scope): show it afresh.
        preview = certificates.preview_rows(
            runtime,
            ticket["b"],
            rows,
            [*parsed.errors, *missing_photos(runtime, body_code, rows, photos)],
            ticket["d"],
        )
        return render_template(
            "console/preview.html",
            preview=preview,
            columns=COLUMNS,
            filename=filename,
            confirm=ConfirmImportForm(formdata=None),
            upload=UploadForm(formdata=None),
            thumbnails=_thumbnails(photos),
            labels=_labels(),
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
