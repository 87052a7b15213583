"""The public verification API under ``/api/v1`` (DESIGN.md contract — public API).

Thin handlers: read a JSON object, call the verify service, return its result. Every
completed check answers 200 with the verification result, whatever its ``status`` (a forged
token is a successful answer, not a failed request); a request that cannot be read answers
400 ``invalid_request``, a value that cannot be valid 422, too many requests 429 — always as
``{"error": {"code", "message"}}``. The document at ``/api/v1/openapi.json`` describes it all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from certsvc.domain.ids import IdType
from certsvc.errors import InvalidRequest
from certsvc.models import utcnow
from certsvc.verify import lookup_by_id, lookup_by_number, verify_token
from certsvc.verify.result import format_time
from certsvc.web import runtime_of
from certsvc.web.json_body import json_object
from certsvc.web.openapi import MAX_ID_NUMBER, MAX_NAME, MAX_NUMBER, MAX_TOKEN, openapi_document

bp = Blueprint("verify_api", __name__, url_prefix="/api/v1")


def _no_store(payload: Mapping[str, Any]) -> Response:
    response = jsonify(payload)
    response.headers["Cache-Control"] = "no-store"
    return response


def _body(fields: Mapping[str, int], optional: frozenset[str] = frozenset()) -> dict[str, str]:
    """The request's JSON object, with exactly *fields* (name -> max length) as strings.

    Raises :class:`InvalidRequest` naming the first problem.
    """
    data = json_object(
        "send a JSON object as the request body, e.g. "
        + "{"
        + ", ".join(f'"{name}": "..."' for name in fields if name not in optional)
        + "}"
    )
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise InvalidRequest(
            f"unknown member(s) {', '.join(map(repr, unknown))}; "
            f"this operation takes {', '.join(fields)}"
        )
    values: dict[str, str] = {}
    for name, limit in fields.items():
        if name not in data and name in optional:
            continue
        value = data.get(name)
        if not isinstance(value, str) or not value:
            raise InvalidRequest(f"member {name!r} must be a non-empty string")
        if len(value) > limit:
            raise InvalidRequest(f"member {name!r} is longer than {limit} characters")
        values[name] = value
    return values


@bp.post("/verify")
def verify() -> Response:
    """Verify a QR token (the part after ``/v/`` in the QR's URL)."""
    token = _body({"token": MAX_TOKEN})["token"]
    result = runtime_of(current_app).db.read(lambda session: verify_token(session, token))
    return _no_store(result.to_dict())


@bp.post("/lookup/by-number")
def lookup_number() -> Response:
    """Look up a certificate by its number and the holder's name."""
    body = _body({"number": MAX_NUMBER, "name": MAX_NAME})
    result = runtime_of(current_app).db.read(
        lambda session: lookup_by_number(session, body["number"], body["name"])
    )
    return _no_store(result.to_dict())


@bp.post("/lookup/by-id")
def lookup_id() -> Response:
    """Every certificate of the person with this ID number and name (masked data only)."""
    body = _body(
        {"id_number": MAX_ID_NUMBER, "name": MAX_NAME, "id_type": 32},
        optional=frozenset({"id_type"}),
    )
    id_type = body.get("id_type", IdType.RESIDENT_ID.value)
    if id_type not in {t.value for t in IdType}:
        raise InvalidRequest(f"id_type must be one of {', '.join(t.value for t in IdType)}")
    runtime = runtime_of(current_app)
    checked_at = utcnow()
    results = runtime.db.read(
        lambda session: lookup_by_id(
            session, runtime.vault, body["id_number"], body["name"], id_type, checked_at
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
def openapi() -> Response:
    """The OpenAPI 3.1 description of this API."""
    response = jsonify(openapi_document(runtime_of(current_app).settings.public_url))
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
