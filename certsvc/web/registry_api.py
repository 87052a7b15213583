"""Registry API (``/api/v1/registry``): the signed change feed, statistics, holder photos.

Both need a bearer token with the ``registry`` role (:func:`certsvc.web.bearer.require_token`);
a token tied to one body sees that body only. Each view's :func:`documented` operation
describes it in ``/api/v1/openapi.json``.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from certsvc.holders.photos_store import photo_by_digest
from certsvc.registry.feed import (
    DEFAULT_LIMIT,
    MAX_CURSOR,
    MAX_LIMIT,
    parse_request,
    stream_changes,
)
from certsvc.registry.stats import compute_stats
from certsvc.web import runtime_of
from certsvc.web.bearer import current_token, require_token
from certsvc.web.openapi import Answer, Operation, Param, documented
from certsvc.web.photos import photo_response
from certsvc.web.schemas import RegistryChangePage, RegistryStats

_UNAUTHENTICATED = Answer(
    "No bearer token, or an unknown or revoked one.",
    headers={"WWW-Authenticate": {"schema": {"type": "string"}}},
)
_NOT_REGISTRY = Answer("The token does not have the registry role.")
_NO_STORE = {"Cache-Control": {"schema": {"type": "string", "const": "no-store"}}}

bp = Blueprint("registry_api", __name__, url_prefix="/api/v1/registry")


@bp.get("/changes")
@require_token("registry")
@documented(
    Operation(
        "registryChanges",
        "Change feed: events in seq order, each with its signed record",
        description=(
            "Events with seq greater than `after`, in seq order, at most `limit`. "
            "Replaying from any cursor returns the same events. Issued events carry "
            "the certificate as a W3C VC 2.0 vc+jwt and the holder's clear ID number "
            "and commitment salt; revocations and supersessions carry a signed status "
            "statement (vc+jwt); key events carry the public JWK. The body streams; "
            "`count` and `next` come after the events. A token tied to one body sees "
            "only that body's events (seqs then have gaps)."
        ),
        tags=("registry",),
        security="registryToken",
        params=(
            Param(
                "after",
                {"type": "integer", "minimum": 0, "maximum": MAX_CURSOR, "default": 0},
                required=False,
                description="Cursor: the `next` of the previous page; 0 to start.",
            ),
            Param(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                required=False,
            ),
        ),
        responses={
            200: Answer("One page of events.", RegistryChangePage, headers=_NO_STORE),
            401: _UNAUTHENTICATED,
            403: _NOT_REGISTRY,
            422: Answer("`after` or `limit` is not valid."),
        },
    )
)
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
@documented(
    Operation(
        "registryStats",
        "Valid certificates and distinct holders by dimension",
        tags=("registry",),
        security="registryToken",
        responses={
            200: Answer("Statistics.", RegistryStats, headers=_NO_STORE),
            401: _UNAUTHENTICATED,
            403: _NOT_REGISTRY,
        },
    )
)
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


@bp.get("/photos/<sha256>")
@require_token("registry")
@documented(
    Operation(
        "registryPhoto",
        "A holder photo, by the SHA-256 its certificate's record signs",
        description=(
            "The stored JPEG whose hex SHA-256 is `sha256`: the digest a certificate's vc+jwt "
            "names in `relatedResource` (`digestSRI`, the same digest in base64). Check the "
            "bytes against the signed digest. Personal data: `no-store`. A token tied to one "
            "body gets that body's photos only."
        ),
        tags=("registry",),
        security="registryToken",
        params=(
            Param(
                "sha256",
                {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                where="path",
                description="Hex SHA-256 of the photo.",
            ),
        ),
        responses={
            200: Answer(
                "The photo.",
                media_type="image/jpeg",
                schema={"type": "string", "format": "binary"},
                headers=_NO_STORE,
            ),
            401: _UNAUTHENTICATED,
            403: _NOT_REGISTRY,
            404: Answer("No photo with that digest (never stored, erased, or another body's)."),
            422: Answer("`sha256` is not 64 lower-case hex digits."),
        },
    )
)
def photo(sha256: str) -> ResponseReturnValue:
    """One holder photo by digest, for the registry to check against the signed record."""
    identity = current_token()
    runtime = runtime_of(current_app)
    jpeg = runtime.db.read(
        lambda session: photo_by_digest(session, runtime.vault, sha256, identity.body_id)
    )
    return photo_response(jpeg)
