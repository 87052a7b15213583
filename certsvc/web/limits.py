"""Per-client rate limits on the public verification routes (Flask-Limiter).

Each app gets its own :class:`~flask_limiter.Limiter` (its storage is per instance): Redis
when ``CERTSVC_REDIS_URL`` is set, so every gunicorn worker and host shares the counters, else
process memory. If Redis stops answering, the limiter falls back to memory rather than failing
verification.

Limits are per client address (``request.remote_addr``: behind a reverse proxy, configure
``ProxyFix`` so it is the client's) and per *scope*, shared by the page and the API:

===========  =====================================  ==============================
scope        routes                                 default (app.config key)
===========  =====================================  ==============================
verify       ``/v/<token>``, ``POST /api/v1/verify``  300/minute (CERTSVC_RATELIMIT_VERIFY)
lookup       number + name (page, API)              30/minute (CERTSVC_RATELIMIT_LOOKUP)
lookup_id    ID number + name (page, API)           10/minute;200/day (…_LOOKUP_ID)
===========  =====================================  ==============================

A verify needs a signed token, so it is generous (many phones share one carrier address); the
look-ups could be used to probe names, so they are tight. A refused request gets 429 with
``Retry-After``: JSON ``{"error": {"code": "rate_limited", ...}}`` under ``/api/``, a short
page elsewhere.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from certsvc.errors import RateLimited
from certsvc.verify.text import DEFAULT_LANGUAGE, LANGUAGES, texts

__all__ = ["DEFAULT_LIMITS", "ENDPOINT_SCOPES", "init_app"]

#: scope -> (app.config key, default limit)
DEFAULT_LIMITS: dict[str, tuple[str, str]] = {
    "verify": ("CERTSVC_RATELIMIT_VERIFY", "300 per minute"),
    "lookup": ("CERTSVC_RATELIMIT_LOOKUP", "30 per minute"),
    "lookup_id": ("CERTSVC_RATELIMIT_LOOKUP_ID", "10 per minute;200 per day"),
}

#: endpoint -> scope; endpoints of blueprints that are not registered are skipped.
ENDPOINT_SCOPES: dict[str, str] = {
    "public.verify_page": "verify",
    "verify_api.verify": "verify",
    "public.lookup_number": "lookup",
    "verify_api.lookup_number": "lookup",
    "public.lookup_id": "lookup_id",
    "verify_api.lookup_id": "lookup_id",
}

EXTENSION = "certsvc.limiter"


def _limit_of(scope: str) -> Callable[[], str]:
    key, default = DEFAULT_LIMITS[scope]

    def limit() -> str:
        return str(current_app.config.get(key, default))

    return limit


def init_app(app: Flask, redis_url: str | None) -> Limiter:
    """Attach a limiter to *app* and apply the scoped limits to the registered endpoints.

    Call after the blueprints are registered.
    """
    limiter = Limiter(
        key_func=get_remote_address,
        app=app,
        storage_uri=redis_url or "memory://",
        storage_options={"socket_timeout": 2, "socket_connect_timeout": 2} if redis_url else {},
        strategy="fixed-window",
        headers_enabled=True,
        key_prefix="certsvc",
        in_memory_fallback_enabled=bool(redis_url),
    )
    for endpoint, scope in ENDPOINT_SCOPES.items():
        view: Callable[..., Any] | None = app.view_functions.get(endpoint)
        if view is not None:
            limited = limiter.shared_limit(_limit_of(scope), scope=scope)(view)
            app.view_functions[endpoint] = limited
    app.extensions[EXTENSION] = limiter
    app.register_error_handler(RateLimitExceeded, _too_many_requests)
    return limiter


def _retry_after() -> int:
    """Seconds until the breached window resets (at least 1)."""
    limiter = current_app.extensions.get(EXTENSION)
    current = limiter.current_limit if isinstance(limiter, Limiter) else None
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def _too_many_requests(exc: RateLimitExceeded) -> Response:
    seconds = _retry_after()
    if request.path.startswith("/api/"):
        error = RateLimited(
            f"too many requests from this client (limit {exc.description}); "
            f"retry after {seconds} s",
            retry_after=seconds,
        )
        response = jsonify(error=error.to_dict())
    else:
        lang = request.values.get("lang") or request.accept_languages.best_match(
            LANGUAGES, default=DEFAULT_LANGUAGE
        )
        lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        html = render_template("verify_limited.html", t=texts(lang), seconds=seconds)
        response = Response(html, mimetype="text/html")
        response.headers["X-Robots-Tag"] = "noindex"
    response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    response.headers["Cache-Control"] = "no-store"
    return response
