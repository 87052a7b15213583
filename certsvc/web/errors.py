"""Mapping :class:`CertsvcError` to HTTP: JSON ``{"error": {"code", "message"}}`` for the API."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from certsvc.errors import CertsvcError

log = logging.getLogger("certsvc.web")


def register(app: Flask) -> None:
    @app.errorhandler(CertsvcError)
    def _certsvc_error(exc: CertsvcError) -> tuple[Response, int]:
        return jsonify(error=exc.to_dict()), exc.http_status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        if not request.path.startswith(("/api/", "/.well-known/")):
            return exc.get_response()
        code = (exc.name or "error").lower().replace(" ", "_")
        response = jsonify(error={"code": code, "message": exc.description or ""})
        response.status_code = exc.code or 500
        # The exception's own headers too: a 405 must say which methods are allowed (Allow).
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response
