"""Per-client rate limits on the public verification routes.

Counted with the ``limits`` library (fixed windows): in Redis when ``CERTSVC_REDIS_URL`` is set,
so every gunicorn worker and host shares the counters, else in process memory. If Redis stops
answering, the counters fall back to memory for :data:`REDIS_RETRY_S` seconds (logged once)
rather than failing verification, then Redis is tried again.

Limits are per client (``request.remote_addr``: behind a reverse proxy, set
``CERTSVC_TRUSTED_PROXIES`` so it is the client's) — an IPv4 address, or an IPv6 /64 network,
since an IPv6 client can use every address of its /64
(:func:`certsvc.accounts.addresses.client_key`) — and per *scope*, shared by the page and the API:

===========  ==========================================  ===================================
scope        routes                                      default (app.config key)
===========  ==========================================  ===================================
verify       ``/v/<token>``, ``POST /api/v1/verify``,     300/minute (CERTSVC_RATELIMIT_VERIFY)
             ``GET /api/v1/transparency/certificates/…``
lookup       number + name (page, API)                   30/minute (CERTSVC_RATELIMIT_LOOKUP)
lookup_id    ID number + name (page, API)                10/minute;200/day (…_LOOKUP_ID)
login        ``/console/login`` (form and post)          30/minute (CERTSVC_RATELIMIT_LOGIN)
===========  ==========================================  ===================================

A verify needs a signed token, so it is generous (many phones share one carrier address); the
look-ups could be used to probe names, so they are tight. A certificate's inclusion bundle
needs only its number, so it tells whether a number exists: it counts as a verify. The
console log-in has its own brakes in the database (:mod:`certsvc.accounts.accounts`), which
serialise a client's attempts through the password hash; the limit here turns a flood away before it
holds database connections. A refused request gets 429 with ``Retry-After``: JSON
``{"error": {"code": "rate_limited", ...}}`` under ``/api/``, a short page elsewhere.

Why not Flask-Limiter: it cost about 0.4 ms of CPU per request (request-context look-ups for
exemptions, meta limits and headers) and, with its ``X-RateLimit-*`` headers, three Redis round
trips; a verification itself is one SELECT. Here a request costs one ``INCR`` (and ``EXPIRE``
on a window's first hit) and a few dictionary look-ups.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter

from certsvc.accounts.addresses import client_key
from certsvc.errors import RateLimited
from certsvc.i18n import N_
from certsvc.verify.text import texts
from certsvc.web.language import page_language

__all__ = [
    "DEFAULT_LIMITS",
    "ENDPOINT_SCOPES",
    "EXTENSION",
    "RateLimits",
    "counters_of",
    "init_app",
]

log = logging.getLogger("certsvc.limits")

#: scope -> (app.config key, default limit)
DEFAULT_LIMITS: dict[str, tuple[str, str]] = {
    "verify": ("CERTSVC_RATELIMIT_VERIFY", "300 per minute"),
    "lookup": ("CERTSVC_RATELIMIT_LOOKUP", "30 per minute"),
    "lookup_id": ("CERTSVC_RATELIMIT_LOOKUP_ID", "10 per minute;200 per day"),
    "login": ("CERTSVC_RATELIMIT_LOGIN", "30 per minute"),
}

#: endpoint -> scope; endpoints of blueprints that are not registered are skipped.
ENDPOINT_SCOPES: dict[str, str] = {
    "public.verify_page": "verify",
    "public.verify_photo": "verify",
    "verify_api.verify": "verify",
    "transparency.certificate": "verify",
    "public.lookup_number": "lookup",
    "verify_api.lookup_number": "lookup",
    "public.lookup_id": "lookup_id",
    "verify_api.lookup_id": "lookup_id",
    "console.login": "login",
}

EXTENSION = "certsvc.limits"
KEY_PREFIX = "certsvc"
#: Seconds the counters stay in memory after Redis failed, before Redis is tried again.
REDIS_RETRY_S = 30.0


@functools.lru_cache(maxsize=64)
def _parse(spec: str) -> tuple[RateLimitItem, ...]:
    """``"10 per minute;200 per day"`` as limit items, tightest window first."""
    return tuple(sorted(parse_many(spec), key=lambda item: item.get_expiry()))


class RateLimits:
    """The counters of one app: Redis when configured (memory while it is down), else memory."""

    def __init__(self, redis_url: str | None) -> None:
        self._memory = FixedWindowRateLimiter(MemoryStorage())
        self._redis: FixedWindowRateLimiter | None = None
        if redis_url:
            storage = RedisStorage(
                redis_url, wrap_exceptions=True, socket_timeout=2, socket_connect_timeout=2
            )
            self._redis = FixedWindowRateLimiter(storage)
        self._redis_down_until = 0.0
        self._lock = threading.Lock()

    def _counting(self) -> FixedWindowRateLimiter:
        if self._redis is not None and time.monotonic() >= self._redis_down_until:
            return self._redis
        return self._memory

    def _redis_failed(self, exc: Exception) -> None:
        with self._lock:
            if time.monotonic() >= self._redis_down_until:
                log.warning(
                    "rate-limit storage (Redis) failed, counting in memory for %.0f s: %s",
                    REDIS_RETRY_S,
                    exc,
                )
            self._redis_down_until = time.monotonic() + REDIS_RETRY_S

    def hit(self, scope: str, client: str, spec: str) -> tuple[str, int] | None:
        """Count one request of ``client`` in ``scope``; None if allowed, else the limit it
        breached and the seconds until that window resets (at least 1)."""
        identifiers = (KEY_PREFIX, scope, client)
        for item in _parse(spec):
            limiter = self._counting()
            try:
                allowed = limiter.hit(item, *identifiers)
            except Exception as exc:  # StorageError (wrapped), or any driver failure
                if limiter is self._memory:
                    raise
                self._redis_failed(exc)
                limiter = self._memory
                allowed = limiter.hit(item, *identifiers)
            if not allowed:
                try:
                    reset = limiter.get_window_stats(item, *identifiers).reset_time
                    seconds = math.ceil(reset - time.time())
                except Exception as exc:  # Redis failed after counting: a whole window
                    if limiter is self._memory:
                        raise
                    self._redis_failed(exc)
                    seconds = item.get_expiry()
                return str(item), max(1, seconds)
        return None

    def count(self, scope: str, client: str, seconds: int = 60) -> int:
        """Count one event of ``client`` in ``scope``; how many there were in this window of
        ``seconds`` (a fixed window from the first event), this one included."""
        key = f"{KEY_PREFIX}/{scope}/{client}"
        limiter = self._counting()
        try:
            return limiter.storage.incr(key, seconds)
        except Exception as exc:  # as in hit(): Redis failing falls back to memory
            if limiter is self._memory:
                raise
            self._redis_failed(exc)
            return self._memory.storage.incr(key, seconds)


def counters_of(app: Flask) -> RateLimits:
    """The counters :func:`init_app` gave ``app``."""
    counters = app.extensions[EXTENSION]
    assert isinstance(counters, RateLimits)
    return counters


def _spec(scope: str) -> str:
    key, default = DEFAULT_LIMITS[scope]
    return str(current_app.config.get(key, default))


def _limited(view: Callable[..., Any], scope: str, counters: RateLimits) -> Callable[..., Any]:
    @functools.wraps(view)
    def limited(*args: Any, **kwargs: Any) -> Any:
        refused = counters.hit(scope, client_key(request.remote_addr or "unknown"), _spec(scope))
        if refused is not None:
            return _too_many_requests(*refused)
        return view(*args, **kwargs)

    return limited


def init_app(app: Flask, redis_url: str | None) -> RateLimits:
    """Apply the scoped limits to *app*'s registered endpoints.

    Call after the blueprints are registered.
    """
    counters = RateLimits(redis_url)
    for endpoint, scope in ENDPOINT_SCOPES.items():
        view: Callable[..., Any] | None = app.view_functions.get(endpoint)
        if view is not None:
            app.view_functions[endpoint] = _limited(view, scope, counters)
    app.extensions[EXTENSION] = counters
    return counters


def _too_many_requests(limit: str, seconds: int) -> Response:
    if request.path.startswith("/api/"):
        error = RateLimited(
            N_("too many requests from this client (limit {limit}); retry after {seconds} s"),
            retry_after=seconds,
            limit=limit,
            seconds=seconds,
        )
        response = jsonify(error=error.to_dict())
    else:
        html = render_template("verify_limited.html", t=texts(page_language()), seconds=seconds)
        response = Response(html, mimetype="text/html")
        response.headers["X-Robots-Tag"] = "noindex"
    response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    response.headers["Cache-Control"] = "no-store"
    return response
