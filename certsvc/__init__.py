"""certsvc — issue and verify signed vocational skill-level certificates (职业技能等级证书).

:func:`create_app` builds the web application; nothing runs at import time.
"""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, ValidationError

from certsvc.config import Settings
from certsvc.db import MAX_ROW_ID
from certsvc.render import ensure_font
from certsvc.runtime import Runtime
from certsvc.web import EXTENSION

__all__ = ["create_app"]


class RowNumberConverter(IntegerConverter):
    """``<int:…>`` in every route: a number no database row can have does not match (404).

    (see :data:`certsvc.db.MAX_ROW_ID`).
    """

    def to_python(self, value: str) -> int:
        number = int(super().to_python(value))
        if number > MAX_ROW_ID:
            raise ValidationError()
        return number


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """The app factory: settings from the environment unless given."""
    if runtime is None:
        runtime = Runtime.from_settings(settings or Settings.from_env())
    settings = runtime.settings
    ensure_font()  # certificates are printed on demand: no font, no start
    app = Flask(__name__, template_folder="templates")
    app.url_map.converters["int"] = RowNumberConverter  # before any route is added
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
    )
    app.config.update(settings.rate_limits)  # the rest keep certsvc.web.limits' defaults
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = runtime
    # Where logs go is the entry point's choice (wsgi.py, `certsvc serve`, `certsvc worker`
    # call certsvc.logs.configure_logging): an app built inside another program logs as it does.
    logging.getLogger("certsvc").setLevel(settings.log_level)

    from certsvc.web import api, errors, jobs_api, language, limits, operations, public

    operations.init_app(app)  # request ids, JSON request log, /metrics, /readyz (issue 17)
    language.init_app(app)  # Flask-Babel; each request's language (issue 19)
    errors.register(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp)
    from certsvc.web.registry_api import bp as registry_bp  # registry feed, stats (issue 7)

    app.register_blueprint(registry_bp)
    from certsvc.web import console, issuing_api  # console + issuing API (issue 6)

    console.init_app(app)  # the console blueprint, CSRFProtect, session lifetime
    app.register_blueprint(issuing_api.bp)
    from certsvc.web import transparency  # checkpoints and proofs (issue 8)

    app.register_blueprint(transparency.bp)
    from certsvc.web import cors, vc  # JSON-LD context, status lists, cross-origin reads

    app.register_blueprint(vc.bp)
    cors.init_app(app)
    app.register_blueprint(jobs_api.bp)  # jobs: 202 + progress (issue 17)
    limits.init_app(app, settings.redis_url)  # after the blueprints: it wraps their views
    if settings.trusted_proxies:
        # The client's address from X-Forwarded-For, as many hops deep as there are proxies
        # (rate limits and the audit log key on it). Only that: every URL certsvc prints is
        # built from CERTSVC_PUBLIC_URL, never from the request's scheme or host, so trusting
        # X-Forwarded-Proto/-Host would only let a proxy that passes them through unchecked
        # hand clients a say in them.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=0, x_host=0
        )
    return app
