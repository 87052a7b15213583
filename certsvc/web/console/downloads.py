"""Printable downloads: one certificate's PDF, here and at once. A batch's ZIP of PDFs and
its print PDF are long work: they run as jobs (:mod:`certsvc.web.console.jobs`).

The PDFs come from :mod:`certsvc.render` (the renderer needs the certificate font, Debian's
``fonts-lxgw-wenkai``). The body is checked here, before the renderer reads anything: a
number or batch of another body is "not found". Pages show these links only when
:func:`available` says the renderer is installed. A revoked or superseded certificate downloads
with a diagonal mark and a notice across it (:mod:`certsvc.render.certificate`), never as a
valid-looking page.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache

from flask import Response, current_app
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
    from certsvc.render import render_certificate
    from certsvc.render.batch import certificate_face, stored_seal

    runtime = runtime_of(current_app)
    with runtime.db.session() as session:
        cert = certificates.get_certificate(session, _body_id(), number)
        face = certificate_face(session, cert.number, runtime.settings.public_url, runtime.vault)
        seal = stored_seal(session, face.body_code)  # as `certsvc pdf` and batch downloads do
    data = render_certificate(face, seal)
    audit_request("certificate.pdf", body_id=_body_id(), target=face.number)
    return _attachment(Response(data, mimetype="application/pdf"), f"{face.number}.pdf")
