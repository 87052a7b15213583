"""Cross-origin reads for third-party web verifiers: which endpoints, which methods.

A verifier running in someone else's web page must be able to fetch what it needs to check a
certificate without our help: the JWKS, the JSON-LD context, the status lists, the
transparency checkpoint, and ``POST /api/v1/verify``. Those answer with
``Access-Control-Allow-Origin: *`` — errors too, so a page can read a 404 or a 429 — and a
preflight (``OPTIONS``, which browsers send before a JSON POST or a conditional GET with
``If-None-Match``) is answered with the allowed methods and headers. Nothing here carries
credentials (no cookies, no tokens), so ``*`` is safe; every other endpoint stays same-origin.
"""

from __future__ import annotations

from flask import Flask, Response, request

__all__ = ["CROSS_ORIGIN", "init_app"]

_READ = ("GET", "HEAD", "OPTIONS")
#: endpoint -> the methods another origin may use on it.
CROSS_ORIGIN: dict[str, tuple[str, ...]] = {
    "public.jwks": _READ,
    "vc.context": _READ,
    "vc.status_list": _READ,
    "transparency.checkpoint": _READ,
    "verify_api.verify": ("POST", "OPTIONS"),
}
#: How long a browser may keep a preflight's answer (seconds).
PREFLIGHT_MAX_AGE = 86_400


def _allow(response: Response) -> Response:
    methods = CROSS_ORIGIN.get(request.endpoint or "")
    if methods is None:
        return response
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "ETag, Retry-After"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, If-None-Match"
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return response


def init_app(app: Flask) -> None:
    """Answer cross-origin requests to the :data:`CROSS_ORIGIN` endpoints."""
    app.after_request(_allow)
