"""Public routes: health, the JWKS, the front page, the page behind each QR code and the
manual look-up forms.

Pages are server-rendered and work without JavaScript; ``static/verify.js`` only adds the
on-device signature check. Chinese by default; ``?lang=en`` (or a form's ``lang`` field)
switches, otherwise ``Accept-Language`` decides. Every page is ``noindex`` and ``no-store``.
Look-up forms are POSTed, so names and ID numbers never appear in URLs or access logs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue

from certsvc.bodies.bodies import hosted_bodies
from certsvc.bodies.keyring import published_keys
from certsvc.domain.china_time import CHINA
from certsvc.domain.ids import IdType
from certsvc.errors import CertsvcError
from certsvc.i18n import LANGUAGES
from certsvc.metrics import counted
from certsvc.signing.jwks import jwks_document
from certsvc.verify import lookup_by_id, lookup_by_number, verify_token
from certsvc.verify.photo import has_photo, photo_for_token
from certsvc.verify.replica import read_verification
from certsvc.verify.result import VerificationResult
from certsvc.verify.text import texts
from certsvc.web import runtime_of
from certsvc.web.language import page_language
from certsvc.web.openapi import HTML, Answer, Operation, Param, documented
from certsvc.web.photos import photo_response, private_answer
from certsvc.web.schemas import (
    MAX_TOKEN,
    TOKEN_PATTERN,
    Health,
    IdLookupForm,
    JwkSet,
    NumberLookupForm,
)

bp = Blueprint(
    "public",
    __name__,
    static_folder="../static",
    static_url_path="/assets",
)

#: Only our own script, styles inline in base.html, JSON fetched from this origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; "
    "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


_PAGES = ("pages",)
_PAGE = Answer("The page (Chinese by default; ?lang=en or Accept-Language).", media_type=HTML)
_LANG = Param(
    "lang",
    {"type": "string"},
    required=False,
    description=f"Page language: {' or '.join(LANGUAGES)}; anything else is ignored.",
)
_FORM = "application/x-www-form-urlencoded"


@bp.get("/healthz")
@documented(Operation("health", "Liveness for load balancers", {200: Answer("Alive.", Health)}))
def health() -> dict[str, str]:
    """Liveness for load balancers."""
    return {"status": "ok"}


@bp.get("/.well-known/jwks.json")
@documented(
    Operation(
        "jwks",
        "Every public key that ever signed, with its status",
        {
            200: Answer(
                "The key set (RFC 7517).",
                JwkSet,
                media_type="application/jwk-set+json",
                headers={"ETag": {"schema": {"type": "string"}}},
            )
        },
        tags=("keys",),
    )
)
def jwks() -> ResponseReturnValue:
    """Every key that ever signed, with its status (DESIGN.md contract — JWKS)."""
    runtime = runtime_of(current_app)
    document = runtime.db.read(lambda session: jwks_document(published_keys(session)))
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    etag = hashlib.sha256(body.encode()).hexdigest()[:32]
    response = Response(body, mimetype="application/jwk-set+json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response.make_conditional(request)


def _page(template: str, status: int = 200, **context: Any) -> Response:
    lang = page_language()
    other = "en" if lang == "zh" else "zh"
    html = render_template(
        template,
        lang=lang,
        t=texts(lang),
        switch_url=f"{request.path if request.method == 'GET' else url_for('public.lookup')}"
        f"?lang={other}",
        id_types=list(IdType),
        **context,
    )
    response = Response(html, status=status, mimetype="text/html")
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Accept-Language"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _error_text(exc: CertsvcError) -> str:
    """What the look-up page says about a refused entry, in the page's language (the
    error's own message, in English, only for an error without a text of its own)."""
    return texts(page_language()).get(f"error.{exc.code}", exc.message)


def _result_page(
    result: VerificationResult, token: str | None, photo_url: str | None = None
) -> Response:
    return _page(
        "verify.html",
        400 if result.status == "malformed" else 200,
        result=result,
        token=token,
        photo_url=photo_url,
    )


@bp.get("/v/<path:token>")
@documented(
    Operation(
        "verifyPage",
        "The page behind each QR code",
        {
            200: _PAGE,
            400: Answer("The page, saying the token is malformed.", media_type=HTML),
        },
        description="Status banner, every certified field, key and time; the same result "
        "as POST /api/v1/verify.",
        tags=_PAGES,
        params=(
            Param(
                "token",
                {"type": "string", "maxLength": MAX_TOKEN, "pattern": TOKEN_PATTERN},
                where="path",
                description="The compact JWS of the QR code.",
            ),
            _LANG,
        ),
    )
)
def verify_page(token: str) -> Response:
    """The page behind each QR code: status banner, every certified field, key, time."""
    runtime = runtime_of(current_app)
    result = counted(
        read_verification(
            runtime, lambda session: verify_token(session, token, caches=runtime.caches)
        )
    )
    token = token.strip()
    # Only the QR's page shows the holder photo (the look-ups below never do).
    photo_url = None
    if runtime.db.read(lambda session: has_photo(session, result)):
        photo_url = url_for("public.verify_photo", token=token)
    return _result_page(result, token, photo_url)


@bp.get("/v/<token>/photo")
@documented(
    Operation(
        "verifyPhoto",
        "The holder photo shown on the page behind a QR code",
        {
            200: Answer(
                "The photo (JPEG), never cached.",
                media_type="image/jpeg",
                schema={"type": "string", "format": "binary"},
            ),
            404: Answer(
                "The token is not valid, or the certificate has no stored photo.",
                media_type="text/plain",
                schema={"type": "string"},
            ),
        },
        description="Only for a token that verifies as valid; the look-ups and the public API "
        "never return or link the photo.",
        tags=_PAGES,
        params=(
            Param(
                "token",
                {"type": "string", "maxLength": MAX_TOKEN, "pattern": TOKEN_PATTERN},
                where="path",
                description="The compact JWS of the QR code.",
            ),
        ),
    )
)
def verify_photo(token: str) -> Response:
    """The holder photo of a valid QR token: personal data, so ``private, no-store``."""
    runtime = runtime_of(current_app)
    try:
        jpeg = runtime.db.read(
            lambda session: photo_for_token(
                session, runtime.vault, token.strip(), caches=runtime.caches
            )
        )
    except CertsvcError as exc:
        return private_answer(Response(exc.message, status=404, mimetype="text/plain"))
    return photo_response(jpeg)


@bp.get("/")
@documented(
    Operation(
        "frontPage",
        "The front page: who issues here, verify by number and name, where to scan",
        {200: _PAGE},
        params=(_LANG,),
        tags=_PAGES,
    )
)
def front() -> Response:
    """What this service is, which bodies issue here, the number + name form, how to scan."""
    runtime = runtime_of(current_app)
    bodies = runtime.db.read(hosted_bodies)
    return _page("front.html", bodies=bodies)


@bp.get("/lookup")
@documented(
    Operation("lookupPage", "The manual look-up forms", {200: _PAGE}, params=(_LANG,), tags=_PAGES)
)
def lookup() -> Response:
    """The manual look-up forms."""
    return _page("lookup.html")


@bp.post("/lookup/number")
@documented(
    Operation(
        "lookupNumberPage",
        "Look up by certificate number + name (form); the same page as a QR scan",
        {
            200: _PAGE,
            422: Answer("The form again, saying what cannot be valid.", media_type=HTML),
        },
        tags=_PAGES,
        body=NumberLookupForm,
        body_media_type=_FORM,
    )
)
def lookup_number() -> Response:
    """Look up by certificate number + name; shows the same page as a QR scan."""
    number, name = request.form.get("number", ""), request.form.get("name", "")
    runtime = runtime_of(current_app)
    try:
        result = counted(
            read_verification(
                runtime,
                lambda session: lookup_by_number(session, number, name, caches=runtime.caches),
            )
        )
    except CertsvcError as exc:
        return _page("lookup.html", 422, error=_error_text(exc), number=number, name=name)
    return _result_page(result, None)


@bp.post("/lookup/id")
@documented(
    Operation(
        "lookupIdPage",
        "Look up by ID number + name (form): that person's certificates, masked",
        {
            200: _PAGE,
            422: Answer("The form again, saying what cannot be valid.", media_type=HTML),
        },
        tags=_PAGES,
        body=IdLookupForm,
        body_media_type=_FORM,
    )
)
def lookup_id() -> Response:
    """Look up by ID number + name: that person's certificates, masked data only."""
    name = request.form.get("name", "")
    id_type = request.form.get("id_type", IdType.RESIDENT_ID.value)
    runtime = runtime_of(current_app)
    try:
        id_number = request.form.get("id_number", "")
        results = counted(
            read_verification(
                runtime,
                lambda session: lookup_by_id(
                    session, runtime.vault, id_number, name, id_type, caches=runtime.caches
                ),
            )
        )
    except CertsvcError as exc:
        return _page("lookup.html", 422, error=_error_text(exc), name=name, id_type=id_type)
    return _page("lookup.html", results=results, name=name, id_type=id_type, searched=True)


@bp.app_template_filter("china_time")
def china_time(moment: dt.datetime | str | None) -> str:
    """A time as people in China read it: ``2026-11-26 20:54:03 (UTC+8)``."""
    if moment is None or moment == "":
        return "—"
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S (UTC+8)")
