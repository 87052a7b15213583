"""Mapping :class:`CertsvcError` to HTTP: JSON ``{"error": {"code", "message"}}`` for the API."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from certsvc.db import refusal
from certsvc.errors import CertsvcError, DatabaseUnavailable
from certsvc.i18n import N_, gettext
from certsvc.issuance.status import STATUS_PATH

log = logging.getLogger("certsvc.web")


#: Where a client reads JSON, so an HTTP error (404 of an unknown route, 405) is JSON too: the
#: APIs, the JWKS and the status lists of VC verifiers.
_JSON_PATHS = ("/api/", "/.well-known/", f"{STATUS_PATH}/")

#: What the common HTTP errors say to a person (others keep Werkzeug's English description).
_HTTP_MESSAGES = {
    404: N_("there is nothing at this address; check the URL against the API documentation"),
    405: N_("this address does not take this HTTP method; the Allow header lists those it takes"),
    413: N_("the request is too large"),
    415: N_("the request body has a media type this address does not take; send JSON"),
}


def register(app: Flask) -> None:
    @app.errorhandler(CertsvcError)
    def _certsvc_error(exc: CertsvcError) -> tuple[Response, int]:
        return jsonify(error=exc.to_dict()), exc.http_status

    @app.errorhandler(IntegrityError)
    @app.errorhandler(DataError)
    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_error(exc: Exception) -> ResponseReturnValue:
        # A unit of work raises refusals as CertsvcError already (Database.transaction);
        # this catches the rest — a read that hit a value the database refuses, a database
        # that is down — so that no database message or traceback reaches a person. The
        # error is handled as its CertsvcError would be (a console page, JSON elsewhere).
        if isinstance(exc, IntegrityError | DataError):
            error = refusal(exc)
        else:
            log.error("database error on %s %s", request.method, request.path, exc_info=exc)
            error = DatabaseUnavailable(
                N_(
                    "the database is not answering or is busy; nothing was changed — try again "
                    "in a minute"
                )
            )
        return current_app.handle_user_exception(error)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        if not request.path.startswith(_JSON_PATHS):
            return exc.get_response()
        code = (exc.name or "error").lower().replace(" ", "_")
        known = _HTTP_MESSAGES.get(exc.code or 500)
        message = gettext(known) if known else exc.description or ""
        response = jsonify(error={"code": code, "message": message})
        response.status_code = exc.code or 500
        # The exception's own headers too: a 405 must say which methods are allowed (Allow).
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response
