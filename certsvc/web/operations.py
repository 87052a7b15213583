"""Operations: a request id and one JSON log line per request, Prometheus metrics, readiness.

- Every request gets an id (the client's ``X-Request-ID`` when it is a short plain token,
  else a new one), echoed in the response's ``X-Request-ID`` and on every log line written
  while it is served. The request's own line names the route *pattern*, method, status and
  time — never the path, query or body, which may hold a token, a name or an ID number.
- ``GET /metrics``: the Prometheus text format, for a scraper that sends
  ``Authorization: Bearer $CERTSVC_METRICS_TOKEN`` (compared in constant time). Without the
  setting, ``/metrics`` does not exist (404): the figures (issuance volume, job backlog) are
  not for the public.
- ``GET /healthz`` (in :mod:`certsvc.web.public`) says the process is alive;
  ``GET /readyz`` says whether it can work: the database, Redis (when configured) and the
  job queue's storage all answer. 503 names what does not, so a load balancer stops sending
  requests to it.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid
from collections.abc import Callable

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from certsvc import metrics
from certsvc.domain.ids import redact_id_numbers
from certsvc.i18n import gettext
from certsvc.logs import request_id
from certsvc.web import runtime_of
from certsvc.web.openapi import Answer, Operation, documented
from certsvc.web.schemas import Readiness

__all__ = ["bp", "init_app"]

bp = Blueprint("operations", __name__)
log = logging.getLogger("certsvc.request")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def init_app(app: Flask) -> None:
    """Register ``/metrics`` and ``/readyz`` and the per-request id, log line and counters."""
    app.register_blueprint(bp)
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_forget)


def _start() -> None:
    given = request.headers.get("X-Request-ID", "")
    # A client's id is kept only if it is a plain token that cannot be an ID number.
    plain = _REQUEST_ID.match(given) and redact_id_numbers(given) == given
    g.request_id = given if plain else uuid.uuid4().hex
    g.request_started = time.perf_counter()
    g.request_token = request_id.set(g.request_id)


def _finish(response: Response) -> Response:
    rid = g.get("request_id")
    if rid is None:  # a response made before our before_request ran (another hook failed)
        return response
    route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    seconds = time.perf_counter() - g.request_started
    status = str(response.status_code)
    metrics.REQUESTS.labels(route, request.method, status).inc()
    metrics.REQUEST_SECONDS.labels(route).observe(seconds)
    response.headers["X-Request-ID"] = rid
    log.info(
        "%s %s %s",
        request.method,
        route,
        status,
        extra={
            "event": "request",
            "method": request.method,
            "route": route,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 2),
        },
    )
    return response


def _forget(_exc: BaseException | None) -> None:
    token = g.pop("request_token", None)
    if token is not None:
        request_id.reset(token)


def _authorized(expected: str) -> bool:
    given = request.headers.get("Authorization", "")
    scheme, _, token = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), expected.encode()
    )


@bp.get("/metrics")
@documented(
    Operation(
        "metrics",
        "Prometheus metrics (requests, verifications, certificates, jobs)",
        {
            200: Answer(
                "The Prometheus text exposition format.",
                media_type="text/plain",
                schema={"type": "string"},
            ),
            401: Answer("No bearer token, or not the metrics token."),
            404: Answer("Metrics are off (CERTSVC_METRICS_TOKEN is not set)."),
        },
        tags=("operations",),
        security="metricsToken",
    )
)
def prometheus_metrics() -> ResponseReturnValue:
    """The Prometheus text exposition (bearer CERTSVC_METRICS_TOKEN)."""
    runtime = runtime_of(current_app)
    expected = runtime.settings.metrics_token
    if not expected:
        return jsonify(error={"code": "not_found", "message": gettext("not found")}), 404
    if not _authorized(expected):
        response = jsonify(
            error={
                "code": "unauthenticated",
                "message": gettext("send Authorization: Bearer <CERTSVC_METRICS_TOKEN>"),
            }
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="certsvc-metrics"'
        return response, 401
    response = Response(metrics.exposition(runtime), mimetype="text/plain; version=0.0.4")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/readyz")
@documented(
    Operation(
        "ready",
        "Readiness: the database, Redis and the job queue answer",
        {
            200: Answer("Ready.", Readiness),
            503: Answer("Not ready: the checks name what does not answer.", Readiness),
        },
        tags=("operations",),
    )
)
def ready() -> ResponseReturnValue:
    """200 when the database, Redis and the job queue answer; 503 naming those that do not."""
    runtime = runtime_of(current_app)
    checks: dict[str, Callable[[], object]] = {
        "database": lambda: runtime.db.read(lambda s: s.execute(select(1)).scalar_one()),
        "job_queue": runtime.job_queue.ping,
    }
    if runtime.settings.redis_url:
        checks["redis"] = lambda: _redis_ping(runtime.settings.redis_url or "")
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # any failure means "not ready"; the log says which
            log.warning("readiness: %s does not answer (%s)", name, type(exc).__name__)
            results[name] = "unavailable"
    ok = all(v == "ok" for v in results.values())
    response = jsonify(status="ready" if ok else "not_ready", checks=results)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if ok else 503


def _redis_ping(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
