"""Public routes of the transparency log: its keys and checkpoint, and proofs for monitors.

* ``GET /.well-known/transparency.json`` — origin, log keys (signed-note verifier keys and
  JWKs), the latest checkpoint;
* ``GET /transparency/checkpoint`` — the latest checkpoint note as ``text/plain`` (the path
  C2SP tlog-tiles clients and witnesses read);
* ``GET /api/v1/transparency/inclusion?seq=N&tree_size=M`` — audit path of event N;
* ``GET /api/v1/transparency/consistency?old=M&new=N`` — consistency proof;
* ``GET /api/v1/transparency/certificates/<number>`` — the inclusion bundle of a certificate.

Hashes are standard base64, as in checkpoints. Everything here is public: leaves hold only
hashes of signed documents. Every answer, errors included, may be read from any origin.

A certificate's bundle is found by its number alone, so it tells whether a number exists:
it is rate-limited with the verifications (scope ``verify`` in :mod:`certsvc.web.limits`;
429 with ``Retry-After`` and the JSON error).
"""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from certsvc.domain.numbers import looks_like_certificate_number
from certsvc.errors import InvalidRequest, NotFound
from certsvc.i18n import N_
from certsvc.transparency import store
from certsvc.transparency.log import certificate_inclusion, latest_checkpoint, transparency_document
from certsvc.web import runtime_of
from certsvc.web.openapi import Answer, Operation, Param, documented
from certsvc.web.schemas import (
    MAX_NUMBER,
    NUMBER_PATTERN,
    ConsistencyPath,
    InclusionPath,
    InclusionProof,
    TransparencyDocument,
)

bp = Blueprint("transparency", __name__)

_MAX_DIGITS = 18
_TAGS = ("transparency",)


def _size(name: str, description: str) -> Param:
    return Param(
        name,
        {"type": "integer", "minimum": 0, "maximum": 10**_MAX_DIGITS - 1},
        description=description,
    )


_NOT_A_NUMBER = Answer("A query parameter is missing or not a whole number.")
_OUT_OF_RANGE = Answer("The numbers are out of range for the log.")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _int_arg(name: str) -> int:
    text = request.args.get(name, "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > _MAX_DIGITS:  # not "²" or "٣"
        raise InvalidRequest(N_("query parameter {name!r} must be a whole number"), name=name)
    return int(text)


def _json(payload: dict[str, Any], *, max_age: int) -> Response:
    response = jsonify(payload)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response


@bp.after_request
def _any_origin(response: Response) -> Response:
    # Errors too: a monitor in a browser must be able to read a 404 or a 429 (and its
    # Retry-After), not just see a failed fetch.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "Retry-After"
    return response


@bp.get("/.well-known/transparency.json")
@documented(
    Operation(
        "transparencyLog",
        "The public issuance log: origin, keys, latest checkpoint",
        {200: Answer("The log's description.", TransparencyDocument)},
        tags=_TAGS,
    )
)
def document() -> Response:
    """The log's public description: keys, origin and the latest checkpoint."""
    with runtime_of(current_app).db.session() as session:
        payload = transparency_document(session)
    return _json(payload, max_age=60)


@bp.get("/transparency/checkpoint")
@documented(
    Operation(
        "transparencyCheckpoint",
        "The latest checkpoint, as the signed note (C2SP tlog-checkpoint)",
        {
            200: Answer("The signed note.", media_type="text/plain"),
            404: Answer("The log has no checkpoint yet."),
        },
        tags=_TAGS,
    )
)
def checkpoint() -> Response:
    """The latest checkpoint, as the signed note itself."""
    with runtime_of(current_app).db.session() as session:
        signed = latest_checkpoint(session)
    if signed is None:
        raise NotFound(N_("the transparency log has no checkpoint yet"))
    response = Response(signed.note, mimetype="text/plain")  # Flask adds the one charset
    response.headers["Cache-Control"] = "public, max-age=10"
    return response


@bp.get("/api/v1/transparency/inclusion")
@documented(
    Operation(
        "transparencyInclusion",
        "The audit path of an event in a tree of the log",
        {200: Answer("The proof.", InclusionPath), 400: _NOT_A_NUMBER, 422: _OUT_OF_RANGE},
        tags=_TAGS,
        params=(
            _size("seq", "The event's seq (its leaf index + 1)."),
            _size("tree_size", "The size of the tree, e.g. a checkpoint's."),
        ),
    )
)
def inclusion() -> Response:
    """The audit path of event ``seq`` in the tree of ``tree_size`` events."""
    seq, size = _int_arg("seq"), _int_arg("tree_size")
    with runtime_of(current_app).db.session() as session:
        proof = store.inclusion_proof(session, seq, size)
    payload = {"seq": seq, "leaf_index": seq - 1, "tree_size": size}
    return _json({**payload, "proof": [_b64(p) for p in proof]}, max_age=3600)


@bp.get("/api/v1/transparency/consistency")
@documented(
    Operation(
        "transparencyConsistency",
        "Proof that a larger tree of the log extends a smaller one",
        {200: Answer("The proof.", ConsistencyPath), 400: _NOT_A_NUMBER, 422: _OUT_OF_RANGE},
        tags=_TAGS,
        params=(_size("old", "The smaller tree size."), _size("new", "The larger tree size.")),
    )
)
def consistency() -> Response:
    """The proof that the tree of ``new`` events extends the tree of ``old`` events."""
    old, new = _int_arg("old"), _int_arg("new")
    with runtime_of(current_app).db.session() as session:
        proof = store.consistency_proof(session, old, new)
    return _json({"old": old, "new": new, "proof": [_b64(p) for p in proof]}, max_age=3600)


@bp.get("/api/v1/transparency/certificates/<number>")
@documented(
    Operation(
        "transparencyCertificate",
        "A certificate's inclusion bundle against the latest checkpoint",
        {
            200: Answer("The bundle.", InclusionProof),
            400: Answer("The path does not have a certificate number's shape."),
            404: Answer("No such certificate, or not in a checkpoint yet."),
        },
        description="Checkable offline with the log key. Rate-limited with the "
        "verifications, since it tells whether a number exists.",
        tags=_TAGS,
        params=(
            Param(
                "number",
                {"type": "string", "maxLength": MAX_NUMBER, "pattern": NUMBER_PATTERN},
                where="path",
            ),
        ),
    )
)
def certificate(number: str) -> Response:
    """The inclusion bundle of one certificate against the latest checkpoint."""
    if not looks_like_certificate_number(number):
        raise InvalidRequest(
            N_(
                "not a certificate number: Y or S, an optional level letter, then digits (22 "
                "characters)"
            )
        )
    runtime = runtime_of(current_app)
    with runtime.db.session() as session:
        result = certificate_inclusion(session, number, runtime.caches)
    if result is None:
        raise NotFound(
            N_("certificate {number} is not in a checkpoint of the log (yet)"), number=number
        )
    return _json(result.to_dict(), max_age=10)
