"""Prometheus metrics (prometheus_client), served by ``/metrics`` (:mod:`certsvc.web.operations`).

Counted in the process that does the work: requests (by route pattern and status) and
verification results in the app servers, certificates issued and revoked wherever issuance
runs (an app server or an import job on a worker). Job state — queue depth, durations — is
read from the ``jobs`` table at each scrape, so every app server reports the whole cluster's
jobs, including those run by workers on other machines.

Under gunicorn, set ``PROMETHEUS_MULTIPROC_DIR`` (see ``deploy/gunicorn.conf.py``): each
worker process then writes its counters there and a scrape adds them up.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, TypeVar

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import case, func, select

if TYPE_CHECKING:
    from certsvc.runtime import Runtime

T = TypeVar("T")

__all__ = [
    "CERTIFICATES_ISSUED",
    "CERTIFICATES_REVOKED",
    "REQUESTS",
    "REQUEST_SECONDS",
    "VERIFICATIONS",
    "counted",
    "exposition",
]

REQUESTS = Counter(
    "certsvc_http_requests",
    "HTTP requests answered, by route pattern, method and status.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "certsvc_http_request_duration_seconds",
    "Time to answer a request, by route pattern.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
VERIFICATIONS = Counter(
    "certsvc_verifications",
    "Verification results (page, API, look-ups), by status.",
    ["status"],
)
CERTIFICATES_ISSUED = Counter("certsvc_certificates_issued", "Certificates issued.")
CERTIFICATES_REVOKED = Counter("certsvc_certificates_revoked", "Certificates revoked.")


def counted(result: T) -> T:
    """Count a verification result (or each of a look-up's results) by status; hand it on."""
    results = result if isinstance(result, list) else [result]
    for one in results:
        VERIFICATIONS.labels(getattr(one, "status", "unknown")).inc()
    if not results:
        VERIFICATIONS.labels("not_found").inc()
    return result


#: Bounds of the job-duration histogram, in seconds.
JOB_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


def exposition(runtime: Runtime) -> bytes:
    """The text a Prometheus scrape gets: this process's (or all gunicorn workers')
    counters, then the jobs table's figures."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        counters = generate_latest(registry)
    else:
        counters = generate_latest(REGISTRY)
    jobs = CollectorRegistry()
    jobs.register(_JobCollector(runtime))
    return counters + generate_latest(jobs)


class _JobCollector:
    """Jobs by kind and state (queued = the queue's depth) and their run times, from the DB."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> list[GaugeMetricFamily | HistogramMetricFamily]:
        from certsvc.models.jobs import Job

        gauge = GaugeMetricFamily(
            "certsvc_jobs", "Jobs in the jobs table, by kind and state.", labels=["kind", "state"]
        )
        bucket_columns = [
            func.sum(case((Job.run_seconds <= bound, 1), else_=0)) for bound in JOB_BUCKETS
        ]
        with self.runtime.db.session() as session:
            for kind, state, count in session.execute(
                select(Job.kind, Job.state, func.count()).group_by(Job.kind, Job.state)
            ):
                gauge.add_metric([kind, state], float(count))
            histogram = HistogramMetricFamily(
                "certsvc_job_duration_seconds",
                "Time from a job's first start to its end (succeeded or failed), by kind.",
                labels=["kind"],
            )
            rows = session.execute(
                select(Job.kind, func.count(), func.sum(Job.run_seconds), *bucket_columns)
                .where(Job.run_seconds.is_not(None))
                .group_by(Job.kind)
            ).all()
        for kind, count, total, *cumulative in rows:
            buckets = [
                (str(b), float(c or 0)) for b, c in zip(JOB_BUCKETS, cumulative, strict=True)
            ]
            buckets.append(("+Inf", float(count)))
            histogram.add_metric([kind], buckets, sum_value=float(total or 0))
        return [gauge, histogram]
