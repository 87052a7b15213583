"""The OpenAPI 3.1 document of the public verification API (served at ``/api/v1/openapi.json``).

Written as data next to the handlers it describes; ``tests/test_api_schema.py`` runs
schemathesis against it, so the document and the behaviour cannot drift apart silently.
"""

from __future__ import annotations

from typing import Any

from certsvc.domain.ids import IdType
from certsvc.signing.jwks import KEY_STATUSES
from certsvc.verify.lookup import MAX_NAME_LENGTH
from certsvc.verify.result import OFFLINE_GAPS, REASONS, STATUSES

__all__ = ["MAX_ID_NUMBER", "MAX_NAME", "MAX_NUMBER", "MAX_TOKEN", "openapi_document"]

MAX_TOKEN = 4096  # a QR token is a few hundred characters
MAX_NUMBER = 64  # 22 characters, with room for spaces a person may type
MAX_NAME = MAX_NAME_LENGTH
MAX_ID_NUMBER = 64

_TEXT = {"type": "string"}
_NULLABLE_TEXT = {"type": ["string", "null"]}


def _object(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_RATE_LIMITED = {
    **_error("Too many requests from this client; retry after the given seconds."),
    "headers": {
        "Retry-After": {
            "description": "Seconds until the client may retry.",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}


def _schemas() -> dict[str, Any]:
    certificate = _object(
        {
            "number": {**_TEXT, "description": "Certificate number (22 characters)."},
            "holder_name": _TEXT,
            "id_type": {"enum": [*(t.value for t in IdType), None]},
            "id_type_name": _NULLABLE_TEXT,
            "id_type_name_en": _NULLABLE_TEXT,
            "id_number_masked": {
                **_NULLABLE_TEXT,
                "description": "Masked ID number, e.g. 3201**********123X; never the clear one.",
            },
            "occupation_code": {**_TEXT, "description": "国家职业分类大典 code, e.g. 6-31-01-03."},
            "occupation_name": _NULLABLE_TEXT,
            "occupation_name_en": _NULLABLE_TEXT,
            "work_type": {**_NULLABLE_TEXT, "description": "工种/职业方向; '--' when none."},
            "level": {**_NULLABLE_TEXT, "description": "Level code: 1..5, T, C."},
            "level_name": {**_NULLABLE_TEXT, "description": "As printed, e.g. 三级/高级工."},
            "level_name_en": _NULLABLE_TEXT,
            "issue_date": {"type": "string", "format": "date"},
            "route": {"enum": ["regular", "direct", None]},
            "direct_ground": _NULLABLE_TEXT,
            "direct_ground_name": _NULLABLE_TEXT,
            "direct_ground_name_en": _NULLABLE_TEXT,
            "direct_evidence": _NULLABLE_TEXT,
            "issuer": _object(
                {"code": _NULLABLE_TEXT, "name": _NULLABLE_TEXT, "name_en": _NULLABLE_TEXT}
            ),
            "status": {"enum": ["valid", "revoked", "superseded", None]},
            "status_reason": _NULLABLE_TEXT,
            "status_changed_at": {"type": ["string", "null"], "format": "date-time"},
        }
    )
    signed = _object(
        {
            "number": _TEXT,
            "holder_name": _TEXT,
            "occupation_code": _TEXT,
            "issue_date": {"type": "string", "format": "date"},
        }
    )
    result = _object(
        {
            "status": {"enum": list(STATUSES)},
            "reason": {"enum": [*REASONS, None]},
            "message": {**_TEXT, "description": "One line in English saying why."},
            "mode": {"enum": ["online", "offline"]},
            "checked_at": {"type": "string", "format": "date-time"},
            "kid": {**_NULLABLE_TEXT, "description": "RFC 7638 thumbprint of the signing key."},
            "key_status": {"enum": [*KEY_STATUSES, None]},
            "certificate": {
                "oneOf": [{"$ref": "#/components/schemas/Certificate"}, {"type": "null"}],
                "description": "Every certified field as the issuer recorded it.",
            },
            "signed": {
                "oneOf": [{"$ref": "#/components/schemas/SignedFields"}, {"type": "null"}],
                "description": "The fields the token signs, as signed.",
            },
            "superseded_by": {**_NULLABLE_TEXT, "description": "Number of the newer certificate."},
            "superseded_by_token": {
                **_NULLABLE_TEXT,
                "description": "QR token of the newer certificate (verify it in turn).",
            },
            "not_checked": {"type": "array", "items": {"enum": list(OFFLINE_GAPS)}},
            "transparency": {
                "oneOf": [{"$ref": "#/components/schemas/InclusionProof"}, {"type": "null"}],
                "description": "Proof that the certificate's issuance is in the latest signed "
                "checkpoint of the public issuance log; null when not in a checkpoint yet.",
            },
        }
    )
    inclusion = _object(
        {
            "checkpoint": {**_TEXT, "description": "The signed checkpoint (C2SP signed note)."},
            "origin": _TEXT,
            "tree_size": {"type": "integer", "minimum": 1},
            "root_hash": {**_TEXT, "description": "Standard base64, as in the checkpoint."},
            "seq": {"type": "integer", "minimum": 1},
            "leaf_index": {"type": "integer", "minimum": 0},
            "leaf_data": {**_TEXT, "description": "The logged leaf (canonical JSON)."},
            "leaf_hash": _TEXT,
            "proof": {"type": "array", "items": _TEXT},
            "log_key": {**_TEXT, "description": "Signed-note verifier key of the log."},
            "verified": {
                "type": "boolean",
                "description": "The service's records, the proof and the signature agree.",
            },
        }
    )
    result["description"] = (
        "The verification result, the same on the page, in this API and in `certsvc verify`. "
        "Only `valid` means genuine, matching the record and current."
    )
    error = {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {"code": _TEXT, "message": _TEXT},
                "required": ["code", "message"],
            }
        },
        "required": ["error"],
    }
    id_lookup = _object(
        {
            "checked_at": {"type": "string", "format": "date-time"},
            "count": {"type": "integer", "minimum": 0},
            "certificates": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/VerificationResult"},
            },
        }
    )
    return {
        "VerificationResult": result,
        "InclusionProof": inclusion,
        "Certificate": certificate,
        "SignedFields": signed,
        "IdLookupResult": id_lookup,
        "Error": error,
    }


def _operation(
    summary: str, operation_id: str, request: dict[str, Any], result: str, *, lookup: bool
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {
            "description": "The check was made; see `status`.",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{result}"}}},
        },
        "400": _error("The body is not a JSON object with the members described."),
        "413": _error("The body is too large."),
        "429": _RATE_LIMITED,
    }
    if lookup:
        responses["422"] = _error(
            "A value cannot be valid (certificate number shape, ID check character, blank name)."
        )
    return {
        "post": {
            "summary": summary,
            "operationId": operation_id,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": request}},
            },
            "responses": dict(sorted(responses.items())),
        }
    }


API_PREFIX = "/api/v1"


def openapi_document(public_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document, with *public_url* as the server."""
    name = {"type": "string", "minLength": 1, "maxLength": MAX_NAME}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "certsvc public verification API",
            "version": "1",
            "description": (
                "Verify 职业技能等级证书 (vocational skill-level certificates): by the QR token, "
                "by certificate number + holder name, or by ID number + name. Answers carry "
                'masked ID numbers only. Errors are `{"error": {"code", "message"}}`. '
                "Requests are rate-limited per client (429 with Retry-After). Signing keys: "
                "`/.well-known/jwks.json`."
            ),
        },
        "servers": [{"url": f"{public_url}/api/v1"}],
        "paths": {
            "/verify": _operation(
                "Verify a QR token",
                "verifyToken",
                _object(
                    {
                        "token": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": MAX_TOKEN,
                            "description": "The compact JWS after /v/ in the QR code's URL.",
                        }
                    }
                ),
                "VerificationResult",
                lookup=False,
            ),
            "/lookup/by-number": _operation(
                "Look up by certificate number and holder name",
                "lookupByNumber",
                _object(
                    {
                        "number": {"type": "string", "minLength": 1, "maxLength": MAX_NUMBER},
                        "name": name,
                    }
                ),
                "VerificationResult",
                lookup=True,
            ),
            "/lookup/by-id": _operation(
                "Look up a person's certificates by ID number and name",
                "lookupById",
                _object(
                    {
                        "id_number": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": MAX_ID_NUMBER,
                            "description": "Used only to compute a keyed hash; never stored.",
                        },
                        "name": name,
                        "id_type": {
                            "enum": [t.value for t in IdType],
                            "default": IdType.RESIDENT_ID.value,
                        },
                    },
                    optional=("id_type",),
                ),
                "IdLookupResult",
                lookup=True,
            ),
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1 document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {"schemas": _schemas()},
    }
    return _with_other_apis(document)


def _with_other_apis(document: dict[str, Any]) -> dict[str, Any]:
    """Add the token-protected APIs (issuing, registry) that live in their own blueprints.

    Their modules describe their paths under ``/api/v1``; this document's server URL already
    ends in ``/api/v1``, so the prefix is dropped.
    """
    from certsvc.web import issuing_api, registry_api

    components = document["components"]
    components.setdefault("securitySchemes", {})
    for module in (issuing_api, registry_api):
        for path, item in module.openapi_paths().items():
            document["paths"][path.removeprefix(API_PREFIX)] = item
        components["schemas"].update(module.openapi_schemas())
        components["securitySchemes"].update(module.openapi_security_schemes())
    document["paths"].update(_transparency_paths())
    return document


def _transparency_paths() -> dict[str, Any]:
    """The public proof routes of the transparency log (:mod:`certsvc.web.transparency`)."""

    def number(name: str, description: str) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "required": True,
            "description": description,
            "schema": {"type": "integer", "minimum": 0},
        }

    def proof(kind: str, sizes: tuple[str, ...]) -> dict[str, Any]:
        return _object(
            {
                **{size: {"type": "integer", "minimum": 0} for size in sizes},
                "proof": {
                    "type": "array",
                    "items": _TEXT,
                    "description": f"The {kind} proof (RFC 6962), hashes in standard base64.",
                },
            }
        )

    def get(
        summary: str, operation_id: str, parameters: list[dict[str, Any]], ok: dict[str, Any]
    ) -> dict[str, Any]:
        responses = {
            "200": {"description": summary, "content": {"application/json": {"schema": ok}}},
            "400": _error("A query parameter is missing or not a whole number."),
            "422": _error("The numbers are out of range for the log."),
        }
        return {
            "get": {
                "summary": summary,
                "operationId": operation_id,
                "tags": ["transparency"],
                "parameters": parameters,
                "responses": responses,
            }
        }

    bundle = {
        "summary": "A certificate's inclusion bundle against the latest checkpoint",
        "description": "Checkable offline with the log key. Rate-limited with the "
        "verifications, since it tells whether a number exists.",
        "operationId": "transparencyCertificate",
        "tags": ["transparency"],
        "parameters": [
            {
                "name": "number",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 32},
            }
        ],
        "responses": {
            "200": {
                "description": "The bundle.",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/InclusionProof"}}
                },
            },
            "400": _error("The path does not have a certificate number's shape."),
            "404": _error("No such certificate, or not in a checkpoint yet."),
            "429": _RATE_LIMITED,
        },
    }
    return {
        "/transparency/inclusion": get(
            "The audit path of an event in a tree of the log",
            "transparencyInclusion",
            [
                number("seq", "The event's seq (its leaf index + 1)."),
                number("tree_size", "The size of the tree, e.g. a checkpoint's."),
            ],
            proof("inclusion", ("seq", "leaf_index", "tree_size")),
        ),
        "/transparency/consistency": get(
            "Proof that a larger tree of the log extends a smaller one",
            "transparencyConsistency",
            [number("old", "The smaller tree size."), number("new", "The larger tree size.")],
            proof("consistency", ("old", "new")),
        ),
        "/transparency/certificates/{number}": {"get": bundle},
    }
