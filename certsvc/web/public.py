"""Public routes: health, the JWKS and the verification page behind each QR code."""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue

from certsvc import services_of
from certsvc.keyring import published_keys
from certsvc.signing.jwks import jwks_document
from certsvc.verify import verify_token

bp = Blueprint("public", __name__)


@bp.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}


@bp.get("/.well-known/jwks.json")
def jwks() -> ResponseReturnValue:
    services = services_of(current_app)
    with services.db.session() as session:
        document = jwks_document(published_keys(session))
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    etag = hashlib.sha256(body.encode()).hexdigest()[:32]
    response = Response(body, mimetype="application/jwk-set+json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response.make_conditional(request)


@bp.get("/v/<path:token>")
def verify_page(token: str) -> Response:
    services = services_of(current_app)
    with services.db.session() as session:
        result = verify_token(session, token)
    html = render_template("verify.html", result=result)
    response = Response(html, status=200 if result.status != "malformed" else 400)
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Cache-Control"] = "no-store"
    return response
