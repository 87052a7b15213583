"""Registry API (``/api/v1/registry``): the signed change feed and statistics.

Both need a bearer token with the ``registry`` role (:func:`certsvc.web.bearer.require_token`);
a token tied to one body sees that body only. The OpenAPI description of these paths is
:func:`openapi_paths` / :func:`openapi_schemas` / :func:`openapi_security_schemes`, merged into
``/api/v1/openapi.json`` by the API module.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from certsvc.registry.feed import DEFAULT_LIMIT, MAX_LIMIT, parse_request, stream_changes
from certsvc.registry.stats import DIMENSIONS, compute_stats
from certsvc.web import runtime_of
from certsvc.web.bearer import current_token, require_token

bp = Blueprint("registry_api", __name__, url_prefix="/api/v1/registry")


@bp.get("/changes")
@require_token("registry")
def changes() -> ResponseReturnValue:
    """One page of the change feed, streamed (see :mod:`certsvc.registry.feed`)."""
    identity = current_token()
    page = parse_request(request.args, identity.body_id, identity.body_code)
    runtime = runtime_of(current_app)
    response = Response(stream_changes(runtime, page), mimetype="application/json")
    # Clear ID numbers inside: no cache may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/stats")
@require_token("registry")
def stats() -> ResponseReturnValue:
    """Counts of valid certificates and distinct holders by each dimension."""
    identity = current_token()
    runtime = runtime_of(current_app)
    with runtime.db.session() as session:
        result = compute_stats(
            session, body_id=identity.body_id, extra_provinces=runtime.settings.extra_provinces
        )
    response = jsonify(result.to_dict())
    response.headers["Cache-Control"] = "no-store"
    return response


# --- OpenAPI -----------------------------------------------------------------------------------

_ERRORS = {
    "401": {
        "description": "No bearer token, or an unknown or revoked one.",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RegistryError"}}},
    },
    "403": {
        "description": "The token does not have the registry role.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RegistryError"}}},
    },
}


def openapi_paths() -> dict[str, Any]:
    """The ``paths`` entries of the registry API, for ``/api/v1/openapi.json``."""
    security: list[dict[str, list[str]]] = [{"registryToken": []}]
    return {
        "/api/v1/registry/changes": {
            "get": {
                "operationId": "registryChanges",
                "summary": "Change feed: events in seq order, each with its signed record",
                "description": (
                    "Events with seq greater than `after`, in seq order, at most `limit`. "
                    "Replaying from any cursor returns the same events. Issued events carry "
                    "the certificate as a W3C VC 2.0 vc+jwt and the holder's clear ID number "
                    "and commitment salt; revocations and supersessions carry a signed status "
                    "statement (vc+jwt); key events carry the public JWK. The body streams; "
                    "`count` and `next` come after the events. A token tied to one body sees "
                    "only that body's events (seqs then have gaps)."
                ),
                "tags": ["registry"],
                "security": security,
                "parameters": [
                    {
                        "name": "after",
                        "in": "query",
                        "description": "Cursor: the `next` of the previous page; 0 to start.",
                        "schema": {"type": "integer", "minimum": 0, "default": 0},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_LIMIT,
                            "default": DEFAULT_LIMIT,
                        },
                    },
                ],
                "responses": {
                    "200": {
                        "description": "One page of events.",
                        "headers": {
                            "Cache-Control": {"schema": {"type": "string", "const": "no-store"}}
                        },
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/RegistryChangePage"}
                            }
                        },
                    },
                    "422": {
                        "description": "`after` or `limit` is not valid.",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/RegistryError"}
                            }
                        },
                    },
                    **_ERRORS,
                },
            }
        },
        "/api/v1/registry/stats": {
            "get": {
                "operationId": "registryStats",
                "summary": "Valid certificates and distinct holders by dimension",
                "tags": ["registry"],
                "security": security,
                "responses": {
                    "200": {
                        "description": "Statistics.",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/RegistryStats"}
                            }
                        },
                    },
                    **_ERRORS,
                },
            }
        },
    }


def openapi_security_schemes() -> dict[str, Any]:
    """The ``components.securitySchemes`` entry the registry paths name."""
    return {
        "registryToken": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token with the registry role (`certsvc tokens create`).",
        }
    }


def openapi_schemas() -> dict[str, Any]:
    """The ``components.schemas`` the registry paths refer to (all prefixed ``Registry``)."""
    string = {"type": "string"}
    nullable_string = {"type": ["string", "null"]}
    time = {"type": "string", "format": "date-time"}
    key = {
        "type": "object",
        "required": ["kty", "crv", "x", "kid", "body"],
        "properties": {
            "kty": {"const": "OKP"},
            "crv": {"const": "Ed25519"},
            "x": string,
            "kid": string,
            "body": string,
        },
    }
    count_row = {
        "type": "object",
        "required": ["key", "label", "certificates", "holders"],
        "properties": {
            "key": string,
            "label": string,
            "certificates": {"type": "integer"},
            "holders": {"type": "integer"},
        },
    }
    return {
        "RegistryError": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": string, "message": string},
                }
            },
        },
        "RegistryEvent": {
            "type": "object",
            "required": ["seq", "kind", "occurred_at", "body"],
            "properties": {
                "seq": {"type": "integer", "minimum": 1},
                "kind": {
                    "enum": [
                        "issued",
                        "revoked",
                        "superseded",
                        "key_created",
                        "key_rotated",
                        "key_compromised",
                        "body_created",
                        "body_changed",
                    ]
                },
                "occurred_at": time,
                "body": nullable_string,
                "certificate": {**string, "description": "Certificate number."},
                "kid": nullable_string,
                "record": {
                    "type": ["string", "null"],
                    "description": (
                        "issued: the certificate as a VC 2.0 vc+jwt; revoked/superseded: the "
                        "signed CertificateStatusStatement (vc+jwt)."
                    ),
                },
                "holder": {
                    "type": "object",
                    "description": (
                        "Clear ID number and the salt of the commitment signed in the record "
                        "(credentialSubject.idNumberCommitment)."
                    ),
                    "required": ["id_type", "id_number", "id_salt"],
                    "properties": {"id_type": string, "id_number": string, "id_salt": string},
                },
                "reason": string,
                "superseded_by": string,
                "key": key,
                "compromised_after": time,
                "data": {"type": "object"},
            },
        },
        "RegistryChangePage": {
            "type": "object",
            "required": [
                "head",
                "after",
                "limit",
                "scope",
                "checkpoint",
                "events",
                "count",
                "next",
            ],
            "properties": {
                "head": {"type": "integer", "description": "Last seq when the page began."},
                "checkpoint": {
                    **nullable_string,
                    "description": "The transparency log's latest signed checkpoint when the "
                    "page began (C2SP signed note); null before the first.",
                },
                "after": {"type": "integer"},
                "limit": {"type": "integer"},
                "scope": {**nullable_string, "description": "Body code of a scoped token."},
                "events": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/RegistryEvent"},
                },
                "count": {"type": "integer"},
                "next": {"type": "integer", "description": "Cursor for the next page."},
            },
        },
        "RegistryStats": {
            "type": "object",
            "required": ["generated_at", "basis", "totals", "by"],
            "properties": {
                "generated_at": time,
                "basis": string,
                "scope": nullable_string,
                "totals": {
                    "type": "object",
                    "required": ["certificates", "holders"],
                    "properties": {
                        "certificates": {"type": "integer"},
                        "holders": {"type": "integer"},
                    },
                },
                "by": {
                    "type": "object",
                    "required": list(DIMENSIONS),
                    "properties": {d: {"type": "array", "items": count_row} for d in DIMENSIONS},
                },
            },
        },
    }
