"""Dashboard, batches and certificates: search, detail with history, revoke, correct, and
the holder photo (shown to the body's staff, replaced by an issuer or admin)."""

from __future__ import annotations

import io

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from certsvc.accounts.permissions import Permission
from certsvc.domain.levels import CERTIFIED_LEVELS
from certsvc.errors import BatchRejected, CertsvcError
from certsvc.holders.photos import MAX_PHOTO_BYTES, normalise_photo
from certsvc.holders.photos_store import certificate_photo, certificate_photo_ref
from certsvc.i18n import gettext
from certsvc.issuance import certificates
from certsvc.issuance.photos import AUDIT_ACTION, audit_detail, replace_photo
from certsvc.registry.stats import compute_stats
from certsvc.spreadsheets import SafeCsvWriter
from certsvc.verify.core import certificate_fields
from certsvc.web import runtime_of
from certsvc.web.authz import audit_request, audited_request, principal, requires
from certsvc.web.console import bp, downloads, i18n
from certsvc.web.console.forms import ActionForm, CorrectForm, RevokeForm, UploadForm
from certsvc.web.photos import photo_response


def _body_id() -> int:
    body_id = principal().body_id
    assert body_id is not None  # READ is a body role's permission
    return body_id


@bp.get("/dashboard")
@requires(Permission.READ)
def dashboard() -> ResponseReturnValue:
    """Counts by occupation, level and month; the latest batches."""
    with runtime_of(current_app).db.session() as session:
        body = certificates.body_by_id(session, _body_id())
        board = certificates.dashboard(session, body.id)
        talent = compute_stats(
            session,
            body_id=body.id,
            extra_provinces=runtime_of(current_app).settings.extra_provinces,
        )
        return render_template("console/dashboard.html", body=body, board=board, talent=talent)


@bp.get("/batches")
@requires(Permission.READ)
def batches() -> ResponseReturnValue:
    with runtime_of(current_app).db.session() as session:
        rows = certificates.list_batches(session, _body_id(), limit=200)
        return render_template("console/batches.html", batches=rows)


@bp.get("/batches/<batch_id>")
@requires(Permission.READ)
def batch(batch_id: str) -> ResponseReturnValue:
    """A batch and its certificates, with the downloads."""
    with runtime_of(current_app).db.session() as session:
        found = certificates.get_batch(session, _body_id(), batch_id)
        certs = certificates.batch_certificates(session, found)
        return render_template(
            "console/batch.html",
            batch=found,
            certificates=certs,
            downloads=downloads.available(),
            job_form=ActionForm(),
        )


@bp.get("/batches/<batch_id>/certificates.csv")
@requires(Permission.READ)
def batch_csv(batch_id: str) -> ResponseReturnValue:
    """The batch's certificate numbers, names and verification links, as CSV for HR."""
    runtime = runtime_of(current_app)
    with runtime.db.session() as session:
        found = certificates.get_batch(session, _body_id(), batch_id)
        certs = certificates.batch_certificates(session, found)
        buffer = io.StringIO()
        writer = SafeCsvWriter(buffer)
        writer.writerow(["row", "number", "name", "id_number_masked", "level", "status", "url"])
        for c in certs:
            writer.writerow(
                [
                    c.batch_row,
                    c.number,
                    c.holder_name,
                    c.holder.id_masked,
                    i18n.level_name(c.level),
                    c.status,
                    f"{runtime.settings.public_url}/v/{c.token}",
                ]
            )
    audit_request("batch.export", body_id=found.body_id, target=found.id)
    response = Response("\ufeff" + buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="batch-{found.id}.csv"'
    return response


@bp.get("/certificates")
@requires(Permission.READ)
def certificate_search() -> ResponseReturnValue:
    """Search by number, name, occupation, level, batch and status."""
    args = request.args
    page_text = args.get("page", "1")
    whole = page_text.isascii() and page_text.isdigit()  # "²".isdigit(), but int("²") fails
    query = certificates.CertificateQuery(
        number=args.get("number", "")[:40],
        name=args.get("name", "")[:50],
        occupation=args.get("occupation", "")[:40],
        level=args.get("level", "")[:2],
        batch=args.get("batch", "")[:40],
        status=args.get("status", "")[:16],
        page=int(page_text) if whole and 0 < int(page_text) < 100_000 else 1,
    )
    with runtime_of(current_app).db.session() as session:
        found, total = certificates.search(session, _body_id(), query)
        return render_template(
            "console/certificates.html",
            certificates=found,
            total=total,
            query=query,
            page_size=certificates.PAGE_SIZE,
            levels=i18n.level_choices(),
        )


@bp.get("/certificates/<number>")
@requires(Permission.READ)
def certificate(number: str) -> ResponseReturnValue:
    """Every field, the status, and the history of corrections."""
    runtime = runtime_of(current_app)
    with runtime.db.session() as session:
        cert = certificates.get_certificate(session, _body_id(), number)
        past = certificates.history(session, cert)
        page = render_template(
            "console/certificate.html",
            cert=cert,
            fields=certificate_fields(cert),
            history=past,
            verify_url=f"{runtime.settings.public_url}/v/{cert.token}",
            downloads=downloads.available(),
            has_photo=certificate_photo_ref(session, cert.number) is not None,
        )
    audit_request("certificate.view", body_id=cert.body_id, target=cert.number)
    return page


@bp.route("/certificates/<number>/revoke", methods=["GET", "POST"])
@requires(Permission.REVOKE)
def certificate_revoke(number: str) -> ResponseReturnValue:
    """Revoke with a reason (shown to everyone who verifies it)."""
    runtime = runtime_of(current_app)
    with runtime.db.session() as session:
        cert = certificates.get_certificate(session, _body_id(), number)
    form = RevokeForm()
    status = 200
    if form.validate_on_submit():
        assert form.reason.data is not None
        try:
            with audited_request(
                "certificate.revoke", body_id=cert.body_id, target=cert.number
            ) as entry:
                certificates.revoke(
                    runtime, _body_id(), cert.number, form.reason.data, actor=principal().username
                )
                entry.detail["reason"] = form.reason.data.strip()
        except CertsvcError as exc:
            form.reason.errors = [exc.message]
            status = exc.http_status
        else:
            flash(gettext("Certificate {number} was revoked.", number=cert.number))
            return redirect(url_for("console.certificate", number=cert.number))
    elif request.method == "POST":
        status = 422
    return render_template("console/revoke.html", cert=cert, form=form), status


@bp.route("/certificates/<number>/correct", methods=["GET", "POST"])
@requires(Permission.ISSUE)
def certificate_correct(number: str) -> ResponseReturnValue:
    """Issue a corrected certificate that supersedes this one; both stay in the history."""
    runtime = runtime_of(current_app)
    with runtime.db.session() as session:
        cert = certificates.get_certificate(session, _body_id(), number)
        stored = certificates.stored_cells(cert)
    form = CorrectForm()
    form.id_type.choices = i18n.id_type_choices()
    form.level.choices = [(lv.code, i18n.level_name(lv.code)) for lv in CERTIFIED_LEVELS]
    form.route.choices = i18n.route_choices()
    form.direct_ground.choices = i18n.ground_choices()
    if request.method == "GET":
        form.process(data=stored)
    status = 200
    errors: list[str] = []
    if form.validate_on_submit():
        changes = {key: str(form[key].data or "") for key in certificates.CORRECTABLE}
        try:
            with audited_request(
                "certificate.correct", body_id=cert.body_id, target=cert.number
            ) as entry:
                result = certificates.reissue(
                    runtime,
                    _body_id(),
                    cert.number,
                    changes,
                    actor=principal().username,
                    source="console",
                )
                new_number = result.certificates[0].number
                entry.detail.update(new=new_number, batch=result.batch_id)
        except BatchRejected as exc:
            errors = [e.message for e in exc.errors]  # a cell's error names its column
            status = exc.http_status
        except CertsvcError as exc:
            errors = [exc.message]
            status = exc.http_status
        else:
            flash(gettext("Issued {new}; it supersedes {old}.", new=new_number, old=cert.number))
            return redirect(url_for("console.certificate", number=new_number))
    elif request.method == "POST":
        status = 422
    return render_template("console/correct.html", cert=cert, form=form, errors=errors), status


@bp.get("/certificates/<number>/photo")
@requires(Permission.READ)
def certificate_photo_image(number: str) -> ResponseReturnValue:
    """The stored holder photo of one of the body's certificates: never cached."""
    runtime = runtime_of(current_app)
    with runtime.db.session() as session:
        cert = certificates.get_certificate(session, _body_id(), number)
        jpeg = certificate_photo(session, runtime.vault, cert.number)
    return photo_response(jpeg)


@bp.route("/certificates/<number>/photo/replace", methods=["GET", "POST"])
@requires(Permission.ISSUE)
def certificate_photo_replace(number: str) -> ResponseReturnValue:
    """Replace the holder photo: the number and QR stay, the record is re-signed."""
    runtime = runtime_of(current_app)
    with runtime.db.session() as session:
        cert = certificates.get_certificate(session, _body_id(), number)
    form = UploadForm()
    status = 200
    errors: list[str] = []
    if form.validate_on_submit():
        data = form.file.data.read(MAX_PHOTO_BYTES + 1)
        try:
            with audited_request(AUDIT_ACTION, body_id=cert.body_id, target=cert.number) as entry:
                jpeg = normalise_photo(data)
                done = replace_photo(
                    runtime, _body_id(), cert.number, jpeg, actor=principal().username
                )
                entry.detail.update(audit_detail(done))
        except CertsvcError as exc:
            errors = [exc.message]
            status = exc.http_status
        else:
            flash(
                gettext(
                    "The photo of {number} was replaced; the number stays and the record was "
                    "signed again.",
                    number=cert.number,
                )
            )
            return redirect(url_for("console.certificate", number=cert.number))
    elif request.method == "POST":
        status = 422
    return render_template(
        "console/photo_replace.html", cert=cert, form=form, errors=errors
    ), status
