"""Background jobs: submit, run, survive a dead worker, show progress, download by body only.

Jobs are run here by :func:`certsvc.jobs.runner.run_job` — the function the queue's message
runs on a worker — called in the test's process; ``test_cli_worker_runs_a_queued_job``
runs a real ``certsvc worker`` process on the embedded (SQLite) queue, and
``tests/test_cluster.py`` runs several on Redis and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from certsvc import create_app
from certsvc.accounts.accounts import create_account
from certsvc.accounts.audit import Actor
from certsvc.accounts.tokens import create_token
from certsvc.bodies.bodies import NewBody, add_scope, create_body
from certsvc.cli.demo import uscc
from certsvc.cli.main import cli
from certsvc.domain.levels import CERTIFIED_LEVELS
from certsvc.errors import JobNotFinished, JobResultExpired, NotFound
from certsvc.i18n import use_language
from certsvc.issuance.service import content_hash, issue_batch
from certsvc.jobs import service
from certsvc.jobs.runner import run_job
from certsvc.models import Certificate
from certsvc.models.jobs import Job, JobChunk
from certsvc.render.batch import batch_zip
from certsvc.runtime import Runtime
from tests.conftest import BODY_CODE, row

PASSWORD = "correct horse battery"
OTHER_CODE = "Y000211010001"
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    from certsvc.accounts import accounts

    monkeypatch.setattr(accounts, "PASSWORD_HASH_METHOD", "scrypt:1024:8:1")


def issue(runtime: Runtime, count: int, start: int = 0, body: str = BODY_CODE) -> str:
    rows = [(i + 2, row(start + i)) for i in range(count)]
    return issue_batch(
        runtime, body, rows, source="api", content_sha256=content_hash(rows)
    ).batch_id


def body_id_of(runtime: Runtime, code: str = BODY_CODE) -> int:
    from certsvc.models import CertificationBody

    with runtime.db.session() as session:
        found = session.scalar(select(CertificationBody.id).where(CertificationBody.code == code))
        assert found is not None
        return found


def submit_zip(runtime: Runtime, batch_id: str, count: int) -> Job:
    job, created = service.submit(
        runtime,
        body_id_of(runtime),
        "batch_zip",
        {"batch_id": batch_id},
        created_by="test",
        total=count,
    )
    assert created
    return job


def job_row(runtime: Runtime, job_id: str) -> Job:
    with runtime.db.session() as session:
        return service.get_job(session, None, job_id)


def downloaded(runtime: Runtime, job_id: str, body_id: int | None = None) -> bytes:
    _, chunks = service.result_chunks(runtime, body_id, job_id)
    return b"".join(chunks)


def expected_zip(runtime: Runtime, batch_id: str) -> bytes:
    with runtime.db.session() as session:
        return b"".join(batch_zip(session, batch_id, runtime.settings.public_url, runtime.vault))


# --- service ---------------------------------------------------------------------------------


def test_a_zip_job_stores_the_batch_zip_and_reports_progress(runtime: Runtime, body: str) -> None:
    batch = issue(runtime, 4)
    job = submit_zip(runtime, batch, 4)
    assert job_row(runtime, job.id).state == "queued"
    with pytest.raises(JobNotFinished):
        service.result_chunks(runtime, None, job.id)

    run_job(runtime, job.id)

    done = job_row(runtime, job.id)
    assert (done.state, done.progress_done, done.progress_total, done.attempts) == (
        "succeeded",
        4,
        4,
        1,
    )
    assert done.expires_at is not None and done.expires_at > done.finished_at  # type: ignore[operator]
    data = downloaded(runtime, job.id)
    assert data == expected_zip(runtime, batch)  # the renderer's own bytes, whole
    assert len(zipfile.ZipFile(io.BytesIO(data)).namelist()) == 4
    assert done.result_size == len(data)


def test_a_second_delivery_of_a_finished_job_does_nothing(runtime: Runtime, body: str) -> None:
    batch = issue(runtime, 2)
    job = submit_zip(runtime, batch, 2)
    run_job(runtime, job.id)
    first = downloaded(runtime, job.id)
    run_job(runtime, job.id)  # the queue delivered the message again
    again = job_row(runtime, job.id)
    assert again.attempts == 1 and again.state == "succeeded"
    assert downloaded(runtime, job.id) == first


def test_a_dead_workers_job_is_handed_out_again_and_finished_once(
    runtime: Runtime, body: str
) -> None:
    runtime.settings = runtime.settings.with_overrides(job_lease_seconds=1)
    batch = issue(runtime, 3)
    job = submit_zip(runtime, batch, 3)
    dead = service.claim(runtime, job.id, "host-a:1")  # a worker takes the job …
    assert dead is not None
    dead.write(b"x" * (service.CHUNK_BYTES + 10))  # … writes a chunk, and is killed
    assert service.claim(runtime, job.id, "host-b:2") is None  # its lease still holds
    assert service.sweep(runtime).requeued == []

    time.sleep(1.2)  # the lease runs out
    report = service.sweep(runtime)
    assert report.requeued == [job.id]
    assert job_row(runtime, job.id).state == "queued"

    second = service.claim(runtime, job.id, "host-b:2")  # another worker takes it …
    assert second is not None and second.number == 2
    with pytest.raises(service.LeaseLost):  # … and the first, only slow, may not write
        dead.write(b"y" * service.CHUNK_BYTES)
    with pytest.raises(service.LeaseLost):
        dead.progress(1, force=True)
    time.sleep(1.2)  # the second dies too
    assert service.sweep(runtime).requeued == [job.id]

    run_job(runtime, job.id)  # a third worker
    done = job_row(runtime, job.id)
    assert (done.state, done.attempts) == ("succeeded", 3)
    assert downloaded(runtime, job.id) == expected_zip(runtime, batch)  # no stale bytes

    # The first worker was only slow, not dead: whatever it does now is refused.
    with pytest.raises(service.LeaseLost):
        dead.progress(3, force=True)
    with pytest.raises(service.LeaseLost):
        dead.succeed(result_name="stale.zip", result_type="application/zip")
    assert job_row(runtime, job.id).result_name == f"batch-{batch}.zip"


def test_a_job_that_kills_every_worker_is_given_up(runtime: Runtime, body: str) -> None:
    runtime.settings = runtime.settings.with_overrides(job_lease_seconds=1)
    batch = issue(runtime, 1)
    job = submit_zip(runtime, batch, 1)
    for _ in range(service.MAX_ATTEMPTS):
        assert service.claim(runtime, job.id, "w") is not None
        time.sleep(1.05)
        service.sweep(runtime)
    failed = job_row(runtime, job.id)
    assert (failed.state, failed.error_code) == ("failed", "job_abandoned")
    assert failed.error_message.startswith("the job stopped its worker 5 times")
    assert service.error_text(failed).in_language("zh").startswith("该任务已 5 次导致处理进程中止")


def test_a_lost_queue_message_is_sent_again(runtime: Runtime, body: str) -> None:
    runtime.settings = runtime.settings.with_overrides(job_lease_seconds=1)
    batch = issue(runtime, 1)
    job = submit_zip(runtime, batch, 1)
    with runtime.db.transaction() as session:  # as if Redis lost the message an hour ago
        session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(enqueued_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        )
    before = runtime.job_queue.pending()
    assert service.sweep(runtime).requeued == [job.id]
    assert runtime.job_queue.pending() == before + 1


def test_results_expire_and_are_deleted(runtime: Runtime, body: str) -> None:
    batch = issue(runtime, 1)
    job = submit_zip(runtime, batch, 1)
    run_job(runtime, job.id)
    with runtime.db.transaction() as session:
        session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    with pytest.raises(JobResultExpired):
        service.result_chunks(runtime, None, job.id)
    assert service.sweep(runtime).expired == 1
    assert job_row(runtime, job.id).state == "expired"
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(JobChunk)) == 0


def test_another_bodys_job_does_not_exist_for_a_body(runtime: Runtime, body: str) -> None:
    with runtime.db.transaction() as session:
        other = create_body(
            session,
            NewBody(
                code=OTHER_CODE, name_zh="北京其他机构有限公司", uscc=uscc("91110000MA01XYW7Q")
            ),
        )
        runtime.keyring.create_key(session, other)
        add_scope(session, other, ["6-31-01-03"], CERTIFIED_LEVELS)
        other_id = other.id
    batch = issue(runtime, 1)
    job = submit_zip(runtime, batch, 1)
    run_job(runtime, job.id)
    with runtime.db.session() as session, pytest.raises(NotFound):
        service.get_job(session, other_id, job.id)
    with pytest.raises(NotFound):
        service.result_chunks(runtime, other_id, job.id)
    assert downloaded(runtime, job.id, body_id_of(runtime))  # its own body may


def test_a_stats_export_job_writes_the_bodys_statistics(runtime: Runtime, body: str) -> None:
    issue(runtime, 3)
    job, _ = service.submit(
        runtime, body_id_of(runtime), "stats_export", {"format": "json"}, created_by="t"
    )
    run_job(runtime, job.id)
    data = json.loads(downloaded(runtime, job.id))
    assert data["totals"]["certificates"] == 3 and data["scope"] == BODY_CODE


# --- imports ---------------------------------------------------------------------------------


def import_rows(count: int, start: int = 0) -> list[dict[str, str]]:
    return [row(start + i) for i in range(count)]


def test_a_large_api_batch_is_issued_by_a_job_exactly_once(
    runtime: Runtime, body: str, app: Flask
) -> None:
    client = app.test_client()
    headers = {
        "Authorization": f"Bearer {api_token(runtime, 'issuer')}",
        "Idempotency-Key": "big-1",
    }
    rows = import_rows(service.ASYNC_IMPORT_ROWS + 1)
    response = client.post("/api/v1/batches", json={"rows": rows}, headers=headers)
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert response.headers["Location"] == f"/api/v1/jobs/{job['id']}" == job["url"]
    assert (job["kind"], job["state"], job["progress"]["total"]) == ("import", "queued", 1001)
    # The rows wait encrypted: no ID number in clear at rest.
    with runtime.db.session() as session:
        stored = b"".join(
            session.scalars(select(JobChunk.data).where(JobChunk.job_id == job["id"]))
        )
    assert stored and rows[0]["id_number"].encode() not in stored

    # A retry with the same key answers the same job, issues nothing more.
    again = client.post("/api/v1/batches", json={"rows": rows}, headers=headers)
    assert again.status_code == 202 and again.get_json()["id"] == job["id"]

    # The first worker issues the batch and dies before it can say so …
    runtime.settings = runtime.settings.with_overrides(job_lease_seconds=1)
    attempt = service.claim(runtime, job["id"], "dying")
    assert attempt is not None
    payload = service.read_input(runtime, job["id"])
    first = issue_batch(
        runtime,
        BODY_CODE,
        service.decode_rows(payload["rows"]),
        source="api",
        content_sha256=payload["content_sha256"],
        idempotency_key=payload["idempotency_key"],
    )
    time.sleep(1.1)
    assert service.sweep(runtime).requeued == [job["id"]]
    run_job(runtime, job["id"])  # … and the next one finds the batch it issued.

    status = client.get(job["url"], headers=headers).get_json()
    assert status["state"] == "succeeded" and status["attempts"] == 2
    assert status["outcome"]["batch_id"] == first.batch_id and status["outcome"]["replayed"]
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Certificate)) == 1001
        stored = session.scalar(select(func.count()).select_from(JobChunk))
    assert stored == 0  # the input is gone with the job's end


def test_a_rejected_large_import_reports_its_rows(runtime: Runtime, body: str, app: Flask) -> None:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {api_token(runtime, 'issuer')}", "Idempotency-Key": "bad"}
    rows = import_rows(service.ASYNC_IMPORT_ROWS + 1)
    rows[7]["level"] = "九级"
    response = client.post("/api/v1/batches", json={"rows": rows}, headers=headers)
    assert response.status_code == 202
    run_job(runtime, response.get_json()["id"])
    status = client.get(response.headers["Location"], headers=headers).get_json()
    assert status["state"] == "failed" and status["error"]["code"] == "batch_rejected"
    assert [r["row"] for r in status["outcome"]["rows"]] == [7]
    # Kept as message records: whoever reads the job reads it in their language.
    with runtime.db.session() as session:
        job = service.get_job(session, None, response.get_json()["id"])
    assert job.error_message.startswith("nothing was issued: 1 problem in 1 row")
    with use_language("zh"):
        shown = service.job_json(job)
    assert shown["error"]["message"].startswith("未发证：1 行中有 1 个问题")
    assert shown["outcome"]["rows"][0]["message"].startswith("等级：未知的等级 '九级'")
    assert "error_text" not in shown["outcome"]


# --- API -------------------------------------------------------------------------------------


def api_token(runtime: Runtime, role: str, body: str = BODY_CODE) -> str:
    with runtime.db.transaction() as session:
        return create_token(session, role, f"test {role}", body).secret


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    flask_app = create_app(runtime=runtime)
    flask_app.testing = True
    return flask_app


def test_api_zip_answers_202_and_the_result_downloads(
    runtime: Runtime, body: str, app: Flask
) -> None:
    batch = issue(runtime, 2)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {api_token(runtime, 'viewer')}"}
    response = client.post(f"/api/v1/batches/{batch}/zip", headers=headers)
    assert response.status_code == 202
    job = response.get_json()
    assert job["result"] is None and not job["finished"]
    run_job(runtime, job["id"])
    status = client.get(response.headers["Location"], headers=headers).get_json()
    assert status["finished"] and status["progress"] == {"done": 2, "total": 2, "percent": 100}
    download = client.get(status["result"]["url"], headers=headers)
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert download.data == expected_zip(runtime, batch)

    with runtime.db.transaction() as session:
        other = create_body(
            session,
            NewBody(
                code=OTHER_CODE, name_zh="北京其他机构有限公司", uscc=uscc("91110000MA01XYW7Q")
            ),
        )
        other_secret = create_token(session, "admin", "other", other.code).secret
    foreign = {"Authorization": f"Bearer {other_secret}"}
    assert client.get(status["url"], headers=foreign).status_code == 404
    assert client.get(status["result"]["url"], headers=foreign).status_code == 404
    assert client.post(f"/api/v1/batches/{batch}/zip", headers=foreign).status_code == 404


def test_openapi_describes_the_job_routes(app: Flask) -> None:
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    assert "/api/v1/jobs/{job_id}" in document["paths"]
    assert "202" in document["paths"]["/api/v1/batches/{batch_id}/zip"]["post"]["responses"]
    assert "202" in document["paths"]["/api/v1/batches"]["post"]["responses"]
    assert "Job" in document["components"]["schemas"]


# --- console ---------------------------------------------------------------------------------


class Browser:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def token(self, url: str) -> str:
        match = _CSRF.search(self.client.get(url).get_data(as_text=True))
        assert match
        return match.group(1)

    def login(self, runtime: Runtime, username: str, role: str) -> None:
        with runtime.db.transaction() as session:
            create_account(session, username, PASSWORD, role, BODY_CODE, actor=Actor("test"))
        form = {
            "username": username,
            "password": PASSWORD,
            "csrf_token": self.token("/console/login"),
        }
        assert self.client.post("/console/login", data=form).status_code == 302


def test_console_job_page_shows_progress_with_and_without_javascript(
    runtime: Runtime, body: str, app: Flask
) -> None:
    batch = issue(runtime, 3)
    browser = Browser(app.test_client())
    browser.login(runtime, "viewer1", "viewer")
    page = browser.client.get(f"/console/batches/{batch}").get_data(as_text=True)
    assert f'action="/console/batches/{batch}/zip"' in page

    csrf = browser.token(f"/console/batches/{batch}")
    started = browser.client.post(f"/console/batches/{batch}/zip", data={"csrf_token": csrf})
    assert started.status_code == 303
    job_url = started.headers["Location"]
    job_id = job_url.rsplit("/", 1)[1]

    running = browser.client.get(job_url)
    html = running.get_data(as_text=True)
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html
    assert '<progress id="job-progress" max="100" value="0"' in html
    assert (
        "/assets/jobs.js" in html
        and "script-src 'self'" in running.headers["Content-Security-Policy"]
    )
    status = browser.client.get(f"/console/jobs/{job_id}/status.json").get_json()
    assert status["state"] == "queued" and status["result_url"] is None

    run_job(runtime, job_id)
    status = browser.client.get(f"/console/jobs/{job_id}/status.json").get_json()
    assert status["finished"] and status["progress"]["percent"] == 100
    finished = browser.client.get(job_url).get_data(as_text=True)
    assert "http-equiv" not in finished and status["result_url"] in finished
    download = browser.client.get(status["result_url"])
    assert download.data == expected_zip(runtime, batch)

    english = browser.client.get(job_url + "?lang=en").get_data(as_text=True)
    assert "Download the result" in english and "Finished" in english
    listing = browser.client.get("/console/jobs").get_data(as_text=True)
    assert job_id[:12] in listing


def test_the_job_script_is_served(app: Flask) -> None:
    response = app.test_client().get("/assets/jobs.js")
    assert response.status_code == 200 and b"status_url" not in response.data
    assert b"statusUrl" in response.data


# --- CLI -------------------------------------------------------------------------------------


def cli_env(runtime: Runtime) -> dict[str, str]:
    settings = runtime.settings
    return {
        "CERTSVC_DATABASE_URL": settings.database_url,
        "CERTSVC_KEY_DIR": str(settings.key_dir),
        "CERTSVC_PUBLIC_URL": settings.public_url,
        "CERTSVC_SECRET_KEY": settings.secret_key,
        "CERTSVC_ID_HASH_KEY": settings.id_hash_key.hex(),
        "CERTSVC_ID_ENCRYPTION_KEY": settings.id_encryption_key.hex(),
        "CERTSVC_KEY_PASSPHRASE": settings.key_passphrase.decode(),
        "CERTSVC_JOB_QUEUE_URL": settings.job_queue_url,
    }


def test_cli_lists_shows_and_waits_for_jobs(runtime: Runtime, body: str) -> None:
    batch = issue(runtime, 2)
    job = submit_zip(runtime, batch, 2)
    runner = CliRunner()
    env = cli_env(runtime)
    listed = runner.invoke(cli, ["jobs", "list"], env=env)
    assert (
        listed.exit_code == 0
        and job.id in listed.output
        and "Waiting in the queue" in listed.output
    )
    run_job(runtime, job.id)
    waited = runner.invoke(cli, ["jobs", "wait", job.id], env=env)
    assert waited.exit_code == 0, waited.output
    assert "2/2" in waited.output and f"job {job.id}: Finished" in waited.output
    shown = runner.invoke(cli, ["jobs", "show", job.id, "--json"], env=env)
    assert json.loads(shown.output)["result"]["name"] == f"batch-{batch}.zip"
    missing = runner.invoke(cli, ["jobs", "show", "0" * 32], env=env)
    assert missing.exit_code == 66 and "no job" in missing.output


def test_cli_download_writes_the_result_owner_only(
    runtime: Runtime, body: str, tmp_path: Path
) -> None:
    """A batch zip holds every holder's full ID number, as `certsvc pdf --batch` does."""
    batch = issue(runtime, 2)
    job = submit_zip(runtime, batch, 2)
    run_job(runtime, job.id)
    output = tmp_path / "out" / "all.zip"
    old = os.umask(0o022)  # the usual umask: new files world-readable unless asked otherwise
    try:
        fetched = CliRunner().invoke(
            cli, ["jobs", "download", job.id, "-o", str(output)], env=cli_env(runtime)
        )
    finally:
        os.umask(old)
    assert fetched.exit_code == 0, fetched.output
    assert output.read_bytes() == expected_zip(runtime, batch)
    assert output.stat().st_mode & 0o777 == 0o600
    assert output.parent.stat().st_mode & 0o777 == 0o700


def test_cli_names_job_kinds_and_states_in_chinese(runtime: Runtime, body: str) -> None:
    """A person reads 证书 PDF（ZIP）and 排队中, not batch_zip and queued; --json keeps codes."""
    batch = issue(runtime, 1)
    job = submit_zip(runtime, batch, 1)
    env = {**cli_env(runtime), "CERTSVC_LANGUAGE": "zh"}
    listed = CliRunner().invoke(cli, ["jobs", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "排队中" in listed.output
    assert "queued" not in listed.output and "batch_zip" not in listed.output
    late = CliRunner().invoke(cli, ["jobs", "wait", job.id, "--timeout", "0"], env=env)
    assert late.exit_code == 1 and f"任务 {job.id} 在 0 秒后仍未结束：排队中" in late.output
    run_job(runtime, job.id)
    shown = CliRunner().invoke(cli, ["jobs", "show", job.id], env=env).output
    assert "已完成" in shown and "结果文件" in shown and "succeeded" not in shown
    data = json.loads(CliRunner().invoke(cli, ["jobs", "show", job.id, "--json"], env=env).output)
    assert data["state"] == "succeeded" and data["kind"] == "batch_zip"


def test_cli_wait_fails_for_a_failed_job(runtime: Runtime, body: str) -> None:
    job, _ = service.submit(
        runtime, body_id_of(runtime), "batch_zip", {"batch_id": "nonexistent"}, created_by="t"
    )
    run_job(runtime, job.id)
    waited = CliRunner().invoke(cli, ["jobs", "wait", job.id], env=cli_env(runtime))
    assert waited.exit_code == 1 and "failed" in waited.output


@pytest.mark.slow
def test_cli_worker_runs_a_queued_job(runtime: Runtime, body: str, tmp_path: Path) -> None:
    """A real ``certsvc worker`` on the embedded queue; Ctrl-C (SIGINT) stops it."""
    batch = issue(runtime, 3)
    env = {**os.environ, **cli_env(runtime)}
    certsvc = str(Path(sys.executable).with_name("certsvc"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        metrics_port = probe.getsockname()[1]
    worker = subprocess.Popen(
        [certsvc, "worker", "--threads", "1", "--metrics-port", str(metrics_port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        started = subprocess.run(
            [certsvc, "jobs", "zip", batch, "--wait"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert started.returncode == 0, started.stderr
        job_id = started.stdout.split()[1]
        output = tmp_path / "out.zip"
        fetched = subprocess.run(
            [certsvc, "jobs", "download", job_id, "-o", str(output)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert fetched.returncode == 0, fetched.stderr
        assert output.read_bytes() == expected_zip(runtime, batch)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as answer:
            assert b"certsvc_certificates_issued_total" in answer.read()
    finally:
        worker.send_signal(signal.SIGINT)
        _, log = worker.communicate(timeout=30)
    assert worker.returncode == 0, log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(line.get("message", "").startswith("worker started") for line in lines)


def results_csv(rows: list[dict[str, str]]) -> bytes:
    from certsvc.issuance.rows import COLUMNS

    lines = [",".join(c.header for c in COLUMNS)]
    lines += [",".join(r.get(c.key, "") for c in COLUMNS) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")


def test_a_large_console_import_runs_as_a_job(runtime: Runtime, body: str, app: Flask) -> None:
    browser = Browser(app.test_client())
    browser.login(runtime, "issuer1", "issuer")
    upload = {
        "csrf_token": browser.token("/console/import"),
        "file": (io.BytesIO(results_csv(import_rows(service.ASYNC_IMPORT_ROWS + 1))), "r.csv"),
    }
    preview = browser.client.post(
        "/console/import", data=upload, content_type="multipart/form-data"
    )
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    fields = {
        name: re.search(rf'name="{name}" type="hidden" value="([^"]+)"', html)
        for name in ("csrf_token", "ticket", "content")
    }
    form = {name: match.group(1) for name, match in fields.items() if match}
    assert len(form) == 3
    confirmed = browser.client.post("/console/import/confirm", data=form)
    assert confirmed.status_code == 303 and "/console/jobs/" in confirmed.headers["Location"]
    again = browser.client.post("/console/import/confirm", data=form)  # a double click
    assert again.headers["Location"] == confirmed.headers["Location"]
    job_id = confirmed.headers["Location"].rsplit("/", 1)[1]

    run_job(runtime, job_id)
    page = browser.client.get(confirmed.headers["Location"]).get_data(as_text=True)
    finished = job_row(runtime, job_id)
    assert finished.state == "succeeded", (finished.error_code, finished.error_message)
    outcome = finished.outcome
    assert f"/console/batches/{outcome['batch_id']}" in page and "查看已签发的批次" in page
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Certificate)) == 1001
