"""The enterprise console (``/console``): server-rendered pages for a body's staff.

In the account's language: Chinese unless chosen with the language switch (a POST to
``/console/language``); ``?lang=en`` for one page (:mod:`certsvc.web.language`). Every form
carries a CSRF token (Flask-WTF) and every POST is checked; pages are ``no-store`` and may not be
framed; there is no JavaScript, except the job page's progress script (which the page does
without, by reloading itself). Views are thin: they check the permission
(:func:`certsvc.web.authz.requires`), call a service, write the audit entry and render.

:func:`init_app` registers the blueprint, CSRF protection and the session settings; the app
factory calls it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect  # type: ignore[import-untyped]
from werkzeug.exceptions import HTTPException

from certsvc.domain.china_time import CHINA
from certsvc.errors import CertsvcError
from certsvc.i18n import current_language, gettext
from certsvc.web.authz import (
    IDLE_TIMEOUT,
    MAX_SESSION_AGE,
    ConsoleSessionInterface,
    current_principal,
)
from certsvc.web.console import i18n

__all__ = ["bp", "csrf", "init_app"]

bp = Blueprint("console", __name__, url_prefix="/console")
csrf = CSRFProtect()

#: Console pages: no scripts at all, styles inline in templates/console/base.html.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
#: Uploads and confirmations carry a whole results file in the form, and its photos: a photos
#: ZIP of up to 100 MB on upload, the normalised photos (some 60 KB a row, in base64) on confirm.
MAX_FORM_BYTES = 128 * 1024 * 1024


def init_app(app: Flask) -> None:
    """Register the console with CSRF protection on its forms and safe session settings."""
    # Not setdefault: Flask's own default (31 days) is always there and would win.
    app.config["PERMANENT_SESSION_LIFETIME"] = MAX_SESSION_AGE
    app.session_interface = ConsoleSessionInterface()
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", int(IDLE_TIMEOUT.total_seconds()) * 8)
    # Only the console's forms are CSRF-checked (in before_request below): the JSON APIs use
    # bearer tokens, and the public look-up forms carry no session.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    from certsvc.web.console import (  # noqa: F401 — the modules attach their views to bp
        auth,
        body_admin,
        certificates,
        downloads,
        imports,
        jobs,
        operator,
        people,
    )

    app.register_blueprint(bp)


@bp.before_request
def _before() -> None:
    if request.endpoint in ("console.import_preview", "console.import_confirm"):
        request.max_content_length = MAX_FORM_BYTES
        request.max_form_memory_size = MAX_FORM_BYTES
        request.max_form_parts = 100
    if request.method == "POST":
        csrf.protect()


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-store")
    # A view may allow more (the job page runs its progress script): it sets its own.
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.context_processor
def _globals() -> dict[str, Any]:
    return {
        "lang": current_language(),
        "me": current_principal(),
        "level_name": i18n.level_name,
        "role_name": i18n.role_name,
        "status_name": i18n.status_name,
        "route_name": i18n.route_name,
        "event_name": i18n.event_name,
        "action_name": i18n.action_name,
        "outcome_name": i18n.outcome_name,
        "job_kind_name": i18n.job_kind_name,
        "job_state_name": i18n.job_state_name,
        "batch_source_name": i18n.batch_source_name,
        "detail_items": i18n.detail_items,
        "column_label": i18n.column_label,
        "export_format_name": i18n.export_format_name,
    }


@bp.app_template_filter("console_time")
def _console_time(value: dt.datetime | None) -> str:
    """China Standard Time, to the minute, for tables."""
    if value is None:
        return "—"
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def error_page(status: int, message: str) -> tuple[str, int]:
    """The console's HTML error page."""
    return render_template("console/error.html", status=status, message=message), status


@bp.errorhandler(CertsvcError)
def _certsvc_error(exc: CertsvcError) -> tuple[str, int]:
    return error_page(exc.http_status, exc.message)


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> tuple[str, int]:
    return error_page(
        400,
        gettext("The form has expired or did not come from this site: go back, reload and retry."),
    )


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[str, int]:
    status = exc.code or 500
    messages = {
        403: gettext("Your role may not do this."),
        404: gettext("Not found."),
        413: gettext("The file is too large."),
    }
    return error_page(status, messages.get(status, exc.description or exc.name))
