"""How every route answers with a holder photo: one set of headers for personal data."""

from __future__ import annotations

from flask import Response


def private_answer(response: Response) -> Response:
    """*response* marked as personal data (a face photo is sensitive under PIPL): no cache
    keeps it, no search engine indexes it, nothing can frame it, refer it on or sniff it."""
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def photo_response(jpeg: bytes) -> Response:
    """A stored holder photo (a JPEG) as the answer of a request."""
    return private_answer(Response(jpeg, mimetype="image/jpeg"))
