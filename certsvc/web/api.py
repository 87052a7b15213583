"""The public verification API under ``/api/v1`` (DESIGN.md contract — public API).

Thin handlers: read a JSON object, call the verify service, return its result. Every
completed check answers 200 with the verification result, whatever its ``status`` (a forged
token is a successful answer, not a failed request); a request that cannot be read answers
400 ``invalid_request``, a value that cannot be valid 422, too many requests 429 — always as
``{"error": {"code", "message"}}``. Request bodies are read with the models of
:mod:`certsvc.web.schemas`; the document at ``/api/v1/openapi.json`` is generated from the same
models and from the :func:`~certsvc.web.openapi.documented` operations of every public route.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from certsvc.metrics import counted
from certsvc.models import utcnow
from certsvc.verify import lookup_by_id, lookup_by_number, verify_token
from certsvc.verify.replica import read_verification
from certsvc.verify.result import format_time
from certsvc.web import runtime_of
from certsvc.web.json_body import parse
from certsvc.web.openapi import Answer, Operation, documented, openapi_document
from certsvc.web.schemas import (
    IdLookupResult,
    LookupByIdRequest,
    LookupByNumberRequest,
    VerificationResult,
    VerifyRequest,
)

bp = Blueprint("verify_api", __name__, url_prefix="/api/v1")

#: Where the app keeps its serialised OpenAPI document (``app.extensions``).
OPENAPI_EXTENSION = "certsvc.openapi"


def _no_store(payload: Mapping[str, Any]) -> Response:
    response = jsonify(payload)
    response.headers["Cache-Control"] = "no-store"
    return response


_CHECKED = "The check was made; see `status`."
_UNREADABLE = Answer("The body is not a JSON object with the members described.")
_TOO_LARGE = Answer("The body is too large.")
_CANNOT_BE_VALID = Answer(
    "A value cannot be valid (certificate number shape, ID check character, blank name)."
)


@bp.post("/verify")
@documented(
    Operation(
        "verifyToken",
        "Verify a QR token",
        {200: Answer(_CHECKED, VerificationResult), 400: _UNREADABLE, 413: _TOO_LARGE},
        tags=("verification",),
        body=VerifyRequest,
    )
)
def verify() -> Response:
    """Verify a QR token (the part after ``/v/`` in the QR's URL)."""
    token = parse(VerifyRequest).token
    runtime = runtime_of(current_app)
    result = counted(
        read_verification(
            runtime, lambda session: verify_token(session, token, caches=runtime.caches)
        )
    )
    return _no_store(result.to_dict())


@bp.post("/lookup/by-number")
@documented(
    Operation(
        "lookupByNumber",
        "Look up by certificate number and holder name",
        {
            200: Answer(_CHECKED, VerificationResult),
            400: _UNREADABLE,
            413: _TOO_LARGE,
            422: _CANNOT_BE_VALID,
        },
        tags=("verification",),
        body=LookupByNumberRequest,
    )
)
def lookup_number() -> Response:
    """Look up a certificate by its number and the holder's name."""
    body = parse(LookupByNumberRequest)
    runtime = runtime_of(current_app)
    result = counted(
        read_verification(
            runtime,
            lambda session: lookup_by_number(
                session, body.number, body.name, caches=runtime.caches
            ),
        )
    )
    return _no_store(result.to_dict())


@bp.post("/lookup/by-id")
@documented(
    Operation(
        "lookupById",
        "Look up a person's certificates by ID number and name",
        {
            200: Answer("The certificates found, each verified.", IdLookupResult),
            400: _UNREADABLE,
            413: _TOO_LARGE,
            422: _CANNOT_BE_VALID,
        },
        tags=("verification",),
        body=LookupByIdRequest,
    )
)
def lookup_id() -> Response:
    """Every certificate of the person with this ID number and name (masked data only)."""
    body = parse(LookupByIdRequest)
    runtime = runtime_of(current_app)
    checked_at = utcnow()
    results = counted(
        read_verification(
            runtime,
            lambda session: lookup_by_id(
                session,
                runtime.vault,
                body.id_number,
                body.name,
                body.id_type.value,
                checked_at,
                caches=runtime.caches,
            ),
        )
    )
    return _no_store(
        {
            "checked_at": format_time(checked_at),
            "count": len(results),
            "certificates": [r.to_dict() for r in results],
        }
    )


@bp.get("/openapi.json")
@documented(
    Operation(
        "openapi",
        "This document",
        {
            200: Answer(
                "OpenAPI 3.1 document of every public route.",
                schema={"type": "object", "required": ["openapi", "info", "paths"]},
            )
        },
    )
)
def openapi() -> Response:
    """The OpenAPI 3.1 description of every public route."""
    # Made once per app (it depends on the app's routes and settings only): generating it
    # takes pydantic a tenth of a second, too much to spend on every public request.
    document = current_app.extensions.get(OPENAPI_EXTENSION)
    if document is None:
        settings = runtime_of(current_app).settings
        made = openapi_document(current_app, settings.public_url, settings.max_batch_rows)
        document = current_app.extensions[OPENAPI_EXTENSION] = current_app.json.dumps(made)
    response = Response(document, mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
