"""``make bench SECTIONS=jobs``: a batch's ZIP of PDFs rendered as a job, end to end.

One batch of CERTSVC_BENCH_JOB_CERTS certificates (default 10,000) is issued on PostgreSQL;
then, as in production, an app server (gunicorn, 2 processes) takes
``POST /api/v1/batches/{id}/zip`` and a worker process (``certsvc worker``) renders the job
from the queue (Redis when one answers on 127.0.0.1:6379, else the embedded SQLite queue).
The client polls the job through the API every 0.2 s and downloads the result.

Reported: wall time from the request to ``succeeded``, certificates/s, how often the
progress the client saw moved, the worker's and the server's peak memory (VmHWM) and the
worker's resident memory over the run (flat means it does not grow with the batch).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from certsvc.bodies.bodies import NewBody, add_scope, create_body, load_occupations
from certsvc.config import PROJECT_ROOT, Settings, generate_secrets
from certsvc.domain.levels import CERTIFIED_LEVELS
from certsvc.domain.occupations import shipped_catalogue
from certsvc.issuance.service import content_hash, issue_batch
from certsvc.models.migrate import upgrade
from certsvc.runtime import Runtime

CERTS = int(os.environ.get("CERTSVC_BENCH_JOB_CERTS", "10000"))
REDIS_URL = "redis://127.0.0.1:6379/0"
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def _memory_kib(pid: int, field: str) -> int:
    """VmRSS / VmHWM of a process, in KiB (0 once it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    """The children of every thread of *pid* (a job thread starts the render pool)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _descendants(pid: int) -> list[int]:
    """Every process below *pid* (the worker's forkserver and its render processes)."""
    found: list[int] = []
    for child in _children(pid):
        found += [child, *_descendants(child)]
    return found


def _tree_kib(pid: int) -> tuple[int, int, int]:
    """Resident memory of *pid* with all its descendants, of the largest of them, and how
    many processes the tree holds (the pool starts its processes one by one)."""
    below = [_memory_kib(p, "VmRSS") for p in _descendants(pid)]
    return _memory_kib(pid, "VmRSS") + sum(below), max(below, default=0), 1 + len(below)


def _call(method: str, url: str, token: str) -> Any:
    request = urllib.request.Request(
        url,
        method=method,
        headers={"Authorization": f"Bearer {token}"},
        data=b"{}" if method == "POST" else None,
    )
    if method == "POST":
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=120) as response:
        body = response.read()
    return json.loads(body) if body[:1] == b"{" else body


def section() -> list[str]:
    """Render a batch of CERTS certificates as a ZIP job and report what it cost."""
    from bench.run import BODY, BODY_USCC, postgres_schema, rows_for

    pg = postgres_schema("certsvc_bench_jobs")
    if pg is None:
        return ["## Jobs", "", "PostgreSQL was not reachable: not measured."]
    url, drop = pg
    workdir = Path(tempfile.mkdtemp(prefix="certsvc-bench-jobs-"))
    queue_url = REDIS_URL if _redis_answers() else f"sqlite:///{workdir}/queue.sqlite"
    env = {
        **generate_secrets(),
        "CERTSVC_DATABASE_URL": url,
        "CERTSVC_KEY_DIR": str(workdir / "keys"),
        "CERTSVC_PUBLIC_URL": "https://cert.example.cn",
        "CERTSVC_JOB_QUEUE_URL": queue_url,
        "CERTSVC_JOB_QUEUE_NAME": f"certsvc-bench-{uuid.uuid4().hex[:8]}",
        "CERTSVC_LOG_LEVEL": "WARNING",
    }
    runtime = Runtime.from_settings(Settings.from_env(env))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        upgrade(runtime.db.engine)
        with runtime.db.transaction() as session:
            load_occupations(session, shipped_catalogue())
            body = create_body(session, NewBody(BODY, "基准测试集团", BODY_USCC, chain_leader=True))
            runtime.keyring.create_key(session, body)
            add_scope(session, body, ["6-31-01-03"], CERTIFIED_LEVELS)
        rows = [r for start in range(0, CERTS, 1000) for r in rows_for(start)][:CERTS]
        rows = [(i + 2, values) for i, (_, values) in enumerate(rows)]
        runtime.settings = runtime.settings.with_overrides(max_batch_rows=max(CERTS, 10_000))
        started = time.perf_counter()
        batch = issue_batch(runtime, BODY, rows, source="api", content_sha256=content_hash(rows))
        issue_seconds = time.perf_counter() - started
        print(f"issued {CERTS:,} in {issue_seconds:.1f} s", file=sys.stderr)
        from certsvc.accounts.tokens import create_token

        with runtime.db.transaction() as session:
            token = create_token(session, "viewer", "bench", BODY).secret

        port = _free_port()
        child_env = {**os.environ, **env}
        logs = (workdir / "processes.log").open("ab")
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
            env=child_env, cwd=PROJECT_ROOT, stdout=logs, stderr=logs, start_new_session=True,
        )  # fmt: skip
        worker = subprocess.Popen(
            [str(BIN / "certsvc"), "worker", "--threads", "1"],
            env=child_env, cwd=PROJECT_ROOT, stdout=logs, stderr=logs, start_new_session=True,
        )  # fmt: skip
        processes += [server, worker]
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                _call("GET", f"{base}/readyz", token)
                break
            except OSError:
                time.sleep(0.2)
        load_before = os.getloadavg()[0]

        start = time.perf_counter()
        job = _call("POST", f"{base}/api/v1/batches/{batch.batch_id}/zip", token)
        seen: list[tuple[float, int]] = []
        rss: list[int] = []
        tree: list[tuple[int, int]] = []
        render_peak = 0
        while True:
            status = _call("GET", f"{base}{job['url']}", token)
            now = time.perf_counter() - start
            done = int(status["progress"]["done"])
            if not seen or done != seen[-1][1]:
                seen.append((now, done))
            rss.append(_memory_kib(worker.pid, "VmRSS"))
            total, largest, count = _tree_kib(worker.pid)
            tree.append((total, count))
            render_peak = max(render_peak, largest)
            if status["finished"]:
                break
            time.sleep(0.2)
        wall = time.perf_counter() - start
        assert status["state"] == "succeeded", status
        worker_peak = _memory_kib(worker.pid, "VmHWM")
        down_start = time.perf_counter()
        data = _call("GET", f"{base}{status['result']['url']}", token)
        download = time.perf_counter() - down_start
        server_peak = max(_memory_kib(p, "VmHWM") for p in _children(server.pid))
        load_after = os.getloadavg()[0]
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        runtime.db.dispose()
        drop()
        shutil.rmtree(workdir, ignore_errors=True)

    gaps = [b[0] - a[0] for a, b in itertools.pairwise(seen)]
    warm = rss[len(rss) // 5 :] or rss
    # The tree is compared with itself only when whole: a sample taken while a process
    # starts or while /proc is read mid-change counts fewer processes.
    whole = max(count for _, count in tree)
    full = [total for total, count in tree if count == whole]
    fifth = max(len(full) // 5, 1)
    early, late = full[fifth : 2 * fifth] or full, full[-fifth:]
    growth = sum(late) / len(late) - sum(early) / len(early)
    mib = 1024
    queue = "Redis" if queue_url == REDIS_URL else "the embedded SQLite queue"
    lines = [
        "## Jobs",
        "",
        f"One batch of **{CERTS:,} certificates** (issued beforehand in {issue_seconds:.0f} s) "
        "rendered as a ZIP of PDFs by a job: `POST /api/v1/batches/{id}/zip` to a gunicorn app "
        f"server (2 processes), one `certsvc worker` taking it from {queue}, PostgreSQL "
        "holding the job, its progress and the result (1 MiB chunks). The client polls "
        "`GET /api/v1/jobs/{id}` every 0.2 s. Load average "
        f"{load_before:.1f} before and {load_after:.1f} after (other work on the machine).",
        "",
        "| what | figure |",
        "|---|---|",
        f"| wall time, request to `succeeded` | **{wall:.1f} s** ({CERTS / wall:,.0f} "
        "certificates/s) |",
        f"| result | {len(data) / mib / mib:,.1f} MiB ZIP, downloaded in {download:.1f} s |",
        f"| progress updates seen by the client | {len(seen)}; interval median "
        f"{statistics.median(gaps) if gaps else 0:.2f} s, longest {max(gaps) if gaps else 0:.2f} s"
        " (the worker writes progress at most every 0.5 s) |",
        f"| worker peak memory (VmHWM) | {worker_peak / mib:,.0f} MiB |",
        f"| worker resident memory during the job | {min(warm) / mib:,.0f}–{max(warm) / mib:,.0f}"
        f" MiB after the first fifth ({len(rss)} samples) |",
        f"| worker with its render processes ({whole} processes: worker, fork server, "
        f"resource tracker, render pool), resident during the job | "
        f"{min(full[fifth:] or full) / mib:,.0f}–{max(full) / mib:,.0f} MiB; mean of the "
        f"last fifth of the job {growth / mib:+,.0f} MiB against the second fifth; largest "
        f"process {render_peak / mib:,.0f} MiB |",
        f"| app server peak memory (largest gunicorn process, download included) | "
        f"{server_peak / mib:,.0f} MiB |",
        "",
        "Goal (issue #17): ≤ 5 minutes for 10,000 certificates with flat memory: "
        f"{'met' if wall * 10_000 / CERTS <= 300 else 'NOT met'} (time, scaled to 10,000), "
        f"{'met' if max(warm) - min(warm) <= 32 * mib and growth <= 32 * mib else 'NOT met'} "
        "(memory: the worker's resident set moves by at most 32 MiB, and the mean of the whole "
        "tree with its render processes grows by at most 32 MiB from the second to the last "
        "fifth of the job). The worker renders on both "
        "cores (the forkserver pool of certsvc.render.batch, one process per core); the app "
        "server, PostgreSQL and the polling client share them.",
    ]
    if CERTS != 10_000:
        lines.insert(2, f"Run with {CERTS:,} certificates (CERTSVC_BENCH_JOB_CERTS), not 10,000.")
    return lines
