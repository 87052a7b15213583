"""Operations: /metrics behind its token, /healthz and /readyz, JSON request logs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from certsvc import create_app
from certsvc.issuance.service import content_hash, issue_batch
from certsvc.jobs import service
from certsvc.jobs.runner import run_job
from certsvc.logs import JsonFormatter
from certsvc.runtime import Runtime
from tests.conftest import BODY_CODE, person_id, row

METRICS_TOKEN = "m" * 32


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    runtime.settings = runtime.settings.with_overrides(metrics_token=METRICS_TOKEN)
    flask_app = create_app(runtime=runtime)
    flask_app.testing = True
    return flask_app


def scrape(app: Flask) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = app.test_client().get(
        "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert response.status_code == 200, response.data
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_need_the_token(app: Flask, runtime: Runtime) -> None:
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 32})
    assert wrong.status_code == 401 and "WWW-Authenticate" in wrong.headers
    runtime.settings = runtime.settings.with_overrides(metrics_token="")
    assert (
        client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code
        == 404
    )


def test_metrics_count_requests_verifications_issuance_and_jobs(
    app: Flask, runtime: Runtime, body: str
) -> None:
    before = scrape(app)

    def value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    rows = [(2, row(1)), (3, row(2))]
    batch = issue_batch(runtime, BODY_CODE, rows, source="api", content_sha256=content_hash(rows))
    client = app.test_client()
    token = batch.certificates[0].token
    assert client.get(f"/v/{token}").status_code == 200
    assert client.post("/api/v1/verify", json={"token": "nonsense"}).status_code == 200
    job, _ = service.submit(runtime, 1, "stats_export", {"format": "csv"}, created_by="t")
    run_job(runtime, job.id)
    service.submit(runtime, 1, "stats_export", {"format": "csv"}, created_by="t")

    after = scrape(app)
    grown = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    assert (
        grown("certsvc_http_requests_total", route="/v/<path:token>", method="GET", status="200")
        == 1
    )
    assert grown("certsvc_verifications_total", status="valid") == 1
    assert grown("certsvc_verifications_total", status="malformed") == 1
    assert grown("certsvc_certificates_issued_total") == 2
    assert value(after, "certsvc_jobs", kind="stats_export", state="succeeded") == 1
    assert value(after, "certsvc_jobs", kind="stats_export", state="queued") == 1  # queue depth
    assert value(after, "certsvc_job_duration_seconds_count", kind="stats_export") == 1
    assert value(after, "certsvc_job_duration_seconds_bucket", kind="stats_export", le="+Inf") == 1


def test_healthz_and_readyz(app: Flask, runtime: Runtime) -> None:
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready", "checks": {"database": "ok", "job_queue": "ok"}}


def test_readyz_names_what_does_not_answer(runtime: Runtime) -> None:
    # Nothing listens on port 1: Redis (rate limits) and the Redis job queue cannot answer.
    runtime.settings = runtime.settings.with_overrides(
        redis_url="redis://127.0.0.1:1/0", job_queue_url="redis://127.0.0.1:1/0"
    )
    flask_app = create_app(runtime=runtime)
    response = flask_app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "not_ready",
        "checks": {"database": "ok", "job_queue": "unavailable", "redis": "unavailable"},
    }


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What certsvc's JSON formatter writes while the test runs (as configure_logging sets
    it up on stderr in the server processes)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)


def test_every_request_logs_one_json_line_without_personal_data(
    app: Flask, body: str, log_lines: io.StringIO
) -> None:
    client = app.test_client()
    log_lines.truncate(0)
    log_lines.seek(0)
    id_number = person_id(7)
    response = client.post(
        "/api/v1/lookup/by-id",
        json={"id_number": id_number, "name": "张三"},
        headers={"X-Request-ID": "req-abc-123"},
    )
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "req-abc-123"
    other = client.get(f"/lookup?id={id_number}")
    generated = other.headers["X-Request-ID"]
    assert len(generated) == 32
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    requests = [line for line in lines if line.get("event") == "request"]
    assert [(r["request_id"], r["route"], r["status"]) for r in requests] == [
        ("req-abc-123", "/api/v1/lookup/by-id", 200),
        (generated, "/lookup", 200),
    ]
    assert all(isinstance(r["duration_ms"], float) for r in requests)
    assert id_number not in "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    assert "张三" not in "".join(json.dumps(line, ensure_ascii=False) for line in lines)


def test_a_log_line_that_quotes_an_id_number_is_masked(log_lines: io.StringIO) -> None:
    logging.getLogger("certsvc.test").warning("could not read %s", person_id(3))
    written = log_lines.getvalue()
    assert person_id(3) not in written
    assert json.loads(written.splitlines()[-1])["level"] == "warning"


def test_a_request_id_that_could_be_an_id_number_is_not_kept(app: Flask) -> None:
    given = person_id(5)
    response = app.test_client().get("/healthz", headers={"X-Request-ID": given})
    assert response.headers["X-Request-ID"] != given


def test_a_strange_request_id_is_replaced(app: Flask) -> None:
    response = app.test_client().get("/healthz", headers={"X-Request-ID": "bad id <x>"})
    assert (
        response.headers["X-Request-ID"] != "bad id <x>"
        and len(response.headers["X-Request-ID"]) == 32
    )
