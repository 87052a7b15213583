"""Printable downloads: one certificate's PDF, a batch's ZIP of PDFs, a batch's print PDF.

The PDFs come from :mod:`certsvc.render` (the renderer needs the certificate font, Debian's
``fonts-lxgw-wenkai``). The body is checked here, before the renderer reads anything: a
number or batch of another body is "not found". Pages show these links only when
:func:`available` says the renderer is installed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from flask import Response, current_app, stream_with_context
from flask.typing import ResponseReturnValue

from certsvc.accounts.permissions import Permission
from certsvc.issuance import certificates
from certsvc.web import runtime_of
from certsvc.web.authz import audit_request, principal, requires
from certsvc.web.console import bp


@dataclass(frozen=True)
class Downloads:
    """Which downloads the installed renderer offers."""

    pdf: bool = False
    zip: bool = False
    merged: bool = False


@cache
def available() -> Downloads:
    if importlib.util.find_spec("certsvc.render.batch") is None:
        return Downloads()
    return Downloads(pdf=True, zip=True, merged=True)


def _body_id() -> int:
    body_id = principal().body_id
    assert body_id is not None
    return body_id


def _attachment(response: Response, filename: str) -> Response:
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/certificates/<number>.pdf")
@requires(Permission.READ)
def certificate_pdf(number: str) -> ResponseReturnValue:
    """The certificate as A4 PDF with its signed record attached."""
    from certsvc.render import face_from_certificate, render_certificate
    from certsvc.render.batch import stored_seal

    runtime = runtime_of(current_app)
    with runtime.db.session() as session:
        cert = certificates.get_certificate(session, _body_id(), number)
        face = face_from_certificate(cert, runtime.settings.public_url)
        seal = stored_seal(session, face.body_code)  # as `certsvc pdf` and batch downloads do
    data = render_certificate(face, seal)
    audit_request("certificate.pdf", body_id=_body_id(), target=face.number)
    return _attachment(Response(data, mimetype="application/pdf"), f"{face.number}.pdf")


@bp.get("/batches/<batch_id>/certificates.zip")
@requires(Permission.READ)
def batch_zip(batch_id: str) -> ResponseReturnValue:
    """Every certificate of the batch as its own PDF, in one ZIP (streamed)."""
    from certsvc.render.batch import batch_zip as render_zip

    runtime = runtime_of(current_app)
    with runtime.db.session() as session:
        batch = certificates.get_batch(session, _body_id(), batch_id)
    audit_request("batch.zip", body_id=batch.body_id, target=batch.id)

    def chunks() -> Iterator[bytes]:
        with runtime.db.session() as session:
            yield from render_zip(session, batch.id, runtime.settings.public_url)

    response = Response(stream_with_context(chunks()), mimetype="application/zip")
    return _attachment(response, f"batch-{batch.id}.zip")


@bp.get("/batches/<batch_id>/print.pdf")
@requires(Permission.READ)
def batch_print(batch_id: str) -> ResponseReturnValue:
    """The batch as one PDF for printing, a page per certificate."""
    from certsvc.render.batch import batch_merged

    runtime = runtime_of(current_app)
    with runtime.db.session() as session:
        batch = certificates.get_batch(session, _body_id(), batch_id)
        data = batch_merged(session, batch.id, runtime.settings.public_url)
    audit_request("batch.print", body_id=batch.body_id, target=batch.id)
    return _attachment(Response(data, mimetype="application/pdf"), f"batch-{batch.id}.pdf")
