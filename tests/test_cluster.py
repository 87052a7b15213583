"""certsvc on more than one machine: two gunicorn app servers and two job workers, each a
process of its own on its own port, against one PostgreSQL and one Redis.

Batches are issued through both servers at once (one of them large enough to run as an
import job), every batch's ZIP is asked for through alternating servers, both workers render,
and one worker is SIGKILLed (with its whole process group) while a job is half done and then
started again. Afterwards: every certificate number is unique and the serials are gap-free,
every job succeeded, each ZIP is byte for byte the batch rendered once, the import issued
its batch once — nothing lost, nothing done twice.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from certsvc.accounts.tokens import create_token
from certsvc.config import PROJECT_ROOT
from certsvc.models import Batch, Certificate
from certsvc.models.jobs import Job
from certsvc.render.batch import batch_zip
from certsvc.runtime import Runtime
from tests.conftest import BODY_CODE, row

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REDIS_URL = os.environ.get("CERTSVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BIN = Path(sys.executable).parent
SMALL_BATCHES = 6
# Enough rows that a ZIP job is seen half done (progress is written at most every 0.5 s) and
# few enough that six of them render in well under a minute with reportlab on 2 cores.
SMALL_ROWS = 80
LARGE_ROWS = 1_500  # over ASYNC_IMPORT_ROWS: issued by an import job


@dataclass(frozen=True)
class Answer:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")


def http(
    method: str,
    url: str,
    payload: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60,
) -> Answer:
    """One HTTP request to a server of the test (the standard library's client)."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def redis_answers() -> bool:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        return False
    return True


@dataclass
class Cluster:
    env: dict[str, str]
    logs: Path
    servers: list[str] = field(default_factory=list)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            argv, env=self.env, cwd=PROJECT_ROOT, stdout=log, stderr=log, start_new_session=True
        )
        self.processes[name] = process
        return process

    def start_server(self, name: str) -> None:
        port = free_port()
        self.start(name, [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"])
        self.servers.append(f"http://127.0.0.1:{port}")

    def start_worker(self, name: str) -> int:
        return self.start(name, [str(BIN / "certsvc"), "worker", "--threads", "1"]).pid

    def kill(self, name: str) -> None:
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:]
            for p in sorted(self.logs.glob("*.log"))
        )


@pytest.fixture
def cluster(runtime: Runtime, body: str, tmp_path: Path) -> Iterator[Cluster]:
    if not redis_answers():
        if "CERTSVC_TEST_REDIS_URL" in os.environ:  # CI names it: it must not go green without
            raise RuntimeError(f"CERTSVC_TEST_REDIS_URL={REDIS_URL} does not answer")
        pytest.skip(f"no Redis at {REDIS_URL} (set CERTSVC_TEST_REDIS_URL)")
    settings = runtime.settings
    queue = f"certsvc-test-{uuid.uuid4().hex[:12]}"  # this test's own keys in the shared Redis
    env = {
        **os.environ,
        "CERTSVC_DATABASE_URL": settings.database_url,
        "CERTSVC_KEY_DIR": str(settings.key_dir),
        "CERTSVC_PUBLIC_URL": settings.public_url,
        "CERTSVC_SECRET_KEY": settings.secret_key,
        "CERTSVC_ID_HASH_KEY": settings.id_hash_key.hex(),
        "CERTSVC_ID_ENCRYPTION_KEY": settings.id_encryption_key.hex(),
        "CERTSVC_KEY_PASSPHRASE": settings.key_passphrase.decode(),
        "CERTSVC_JOB_QUEUE_URL": REDIS_URL,
        "CERTSVC_JOB_QUEUE_NAME": queue,
        "CERTSVC_JOB_LEASE_SECONDS": "3",
    }
    runtime.settings = settings.with_overrides(
        job_queue_url=REDIS_URL, job_queue_name=queue, job_lease_seconds=3
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    running = Cluster(env, logs)
    try:
        running.start_server("web-a")
        running.start_server("web-b")
        running.start_worker("worker-a")
        running.start_worker("worker-b")
        wait_ready(running)
        yield running
    finally:
        running.stop_all()
        runtime.job_queue.huey.flush()


def wait_ready(cluster: Cluster) -> None:
    deadline = time.monotonic() + 30
    for base in cluster.servers:
        while True:
            try:
                if http("GET", f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{base} did not become ready\n{cluster.log_tail()}")
            time.sleep(0.2)


def jobs_by_id(runtime: Runtime) -> dict[str, Job]:
    with runtime.db.session() as session:
        return {j.id: j for j in session.scalars(select(Job))}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_servers_two_workers_one_killed_nothing_lost_nothing_twice(
    runtime: Runtime, cluster: Cluster
) -> None:
    with runtime.db.transaction() as session:
        secret = create_token(session, "issuer", "cluster test", BODY_CODE).secret
    auth = {"Authorization": f"Bearer {secret}"}

    # Batches through both servers at once.
    def post_batch(index: int, size: int, start: int) -> Answer:
        base = cluster.servers[index % 2]
        rows = [row(start + i) for i in range(size)]
        headers = {**auth, "Idempotency-Key": f"cluster-{index}"}
        return http("POST", f"{base}/api/v1/batches", {"rows": rows}, headers)

    plan = [(i, SMALL_ROWS, i * SMALL_ROWS) for i in range(SMALL_BATCHES)]
    plan.append((SMALL_BATCHES, LARGE_ROWS, SMALL_BATCHES * SMALL_ROWS))
    with ThreadPoolExecutor(max_workers=len(plan)) as pool:
        answers = list(pool.map(lambda p: post_batch(*p), plan))
    assert [a.status_code for a in answers] == [201] * SMALL_BATCHES + [202], [
        a.text[:300] for a in answers
    ]
    batch_ids = [a.json()["id"] for a in answers[:SMALL_BATCHES]]
    import_job = answers[-1].json()["id"]

    # Every batch's ZIP, asked for through alternating servers.
    zip_jobs: dict[str, str] = {}
    for index, batch_id in enumerate(batch_ids):
        base = cluster.servers[index % 2]
        started = http("POST", f"{base}/api/v1/batches/{batch_id}/zip", {}, auth)
        assert started.status_code == 202, started.text
        zip_jobs[started.json()["id"]] = batch_id

    # SIGKILL the worker that holds a half-done ZIP job, then start it again.
    victim, killed_job = None, None
    deadline = time.monotonic() + 40
    while victim is None:
        for job in jobs_by_id(runtime).values():
            if (
                job.id in zip_jobs
                and job.state == "running"
                and 0 < job.progress_done < job.progress_total * 0.8
            ):
                pid = int(job.worker.rsplit(":", 1)[1])
                for name, process in cluster.processes.items():
                    if name.startswith("worker") and process.pid == pid:
                        victim, killed_job = name, job.id
        assert time.monotonic() < deadline, f"no job seen half done\n{cluster.log_tail()}"
        time.sleep(0.02)
    cluster.kill(victim)
    cluster.start_worker(victim + "-restarted")

    # Everything finishes.
    workers_seen: set[str] = set()
    deadline = time.monotonic() + 180  # bounds a hang; a loaded CI machine renders slowly
    while True:
        jobs = jobs_by_id(runtime)
        workers_seen |= {j.worker for j in jobs.values() if j.worker}
        if all(j.state in ("succeeded", "failed") for j in jobs.values()):
            break
        assert time.monotonic() < deadline, f"jobs unfinished\n{cluster.log_tail()}"
        time.sleep(0.2)
    jobs = jobs_by_id(runtime)
    assert {j.state for j in jobs.values()} == {"succeeded"}, [
        (j.kind, j.error_code, j.error_message) for j in jobs.values()
    ]
    assert jobs[killed_job].attempts >= 2  # type: ignore[index]
    assert len({w.rsplit(":", 1)[1] for w in workers_seen}) >= 2  # both workers rendered

    # Every number unique, serials gap-free per (body, year, level).
    with runtime.db.session() as session:
        numbers = list(session.scalars(select(Certificate.number)))
        batches = session.scalar(select(func.count()).select_from(Batch))
    assert len(numbers) == len(set(numbers)) == SMALL_BATCHES * SMALL_ROWS + LARGE_ROWS
    serials: dict[str, list[int]] = defaultdict(list)
    for number in numbers:
        serials[number[:-6]].append(int(number[-6:]))
    for prefix, found in serials.items():
        assert sorted(found) == list(range(1, len(found) + 1)), prefix
    assert batches == SMALL_BATCHES + 1  # the import job issued its batch once

    # Each ZIP is the batch rendered once, whole, downloadable through either server.
    for index, (job_id, batch_id) in enumerate(zip_jobs.items()):
        base = cluster.servers[(index + 1) % 2]
        status = http("GET", f"{base}/api/v1/jobs/{job_id}", headers=auth).json()
        download = http("GET", f"{base}{status['result']['url']}", headers=auth)
        assert download.status_code == 200
        with runtime.db.session() as session:
            expected = b"".join(
                batch_zip(session, batch_id, runtime.settings.public_url, runtime.vault)
            )
        assert download.content == expected, job_id
        assert len(zipfile.ZipFile(io.BytesIO(download.content)).namelist()) == SMALL_ROWS
    outcome: dict[str, Any] = jobs[import_job].outcome
    assert outcome["certificates"] == LARGE_ROWS
