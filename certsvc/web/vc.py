"""Public routes for Verifiable Credential verifiers: the JSON-LD context and the status lists.

* ``GET /ns/skill-certificate/v1`` — the context every credential lists after the VC 2.0 one
  (:mod:`certsvc.issuance.context`); immutable, so cached for a year;
* ``GET /status/<body code>/<n>`` — a body's W3C Bitstring Status List credential, a vc+jwt
  (:mod:`certsvc.issuance.status`); it changes with every revocation, so it is cached briefly
  and revalidated with its ETag.

Both may be read from any origin (:mod:`certsvc.web.cors`).
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue

from certsvc.issuance.context import CONTEXT_PATH, context_document
from certsvc.issuance.status import STATUS_PATH, served_list
from certsvc.web import runtime_of
from certsvc.web.openapi import Answer, Operation, Param, documented

bp = Blueprint("vc", __name__)

#: A published context never changes (a new version gets a new URL).
CONTEXT_CACHE = "public, max-age=31536000, immutable"
#: A revocation must reach verifiers soon: five minutes, then revalidate with the ETag.
STATUS_LIST_CACHE = "public, max-age=300, must-revalidate"
VC_JWT_MEDIA_TYPE = "application/vc+jwt"


_COMPACT_JWS = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"
_CORS = "Readable from any origin (CORS `*`); HEAD answers the same headers."


@bp.get(CONTEXT_PATH)
@documented(
    Operation(
        "credentialContext",
        "The JSON-LD context of certsvc's credentials (version 1)",
        {
            200: Answer(
                "The context document.",
                media_type="application/ld+json",
                schema={"type": "object", "required": ["@context"]},
            )
        },
        description="Listed by every credential after the VC 2.0 context; immutable, cached "
        "for a year. " + _CORS,
        tags=("credentials",),
    )
)
def context() -> Response:
    """The JSON-LD context of certsvc's credentials."""
    document = context_document(runtime_of(current_app).settings.public_url)
    body = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False)
    response = Response(body, mimetype="application/ld+json")
    response.headers["Cache-Control"] = CONTEXT_CACHE
    return response


@bp.get(f"{STATUS_PATH}/<body_code>/<int:number>")
@documented(
    Operation(
        "statusList",
        "A body's revocation status list (W3C Bitstring Status List v1.0)",
        {
            200: Answer(
                "The status list credential, a vc+jwt signed with the body's key.",
                media_type=VC_JWT_MEDIA_TYPE,
                schema={
                    "type": "string",
                    "pattern": r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
                },
                headers={"ETag": {"schema": {"type": "string"}}},
            ),
            404: Answer("No such body or status list."),
        },
        description="Named by each credential's credentialStatus. Changes with every "
        "revocation: cached for five minutes, then revalidated with its ETag. " + _CORS,
        tags=("credentials",),
        params=(
            Param("body_code", {"type": "string", "maxLength": 32}, where="path"),
            Param("number", {"type": "integer", "minimum": 0}, where="path"),
        ),
    )
)
def status_list(body_code: str, number: int) -> ResponseReturnValue:
    """A body's revocation status list, signed as a vc+jwt."""
    served = served_list(runtime_of(current_app), body_code, number)
    response = Response(served.token, mimetype=VC_JWT_MEDIA_TYPE)
    response.set_etag(served.etag)
    response.headers["Cache-Control"] = STATUS_LIST_CACHE
    return response.make_conditional(request)
