"""Verification on a real PostgreSQL streaming replica, started by the test itself.

``pg_basebackup -R`` copies the test server (127.0.0.1:5432) into a temporary data directory
and a second postmaster serves it on a free port as a hot standby. The replica's replay is
then paused — a replica as far behind as it can be — and a certificate is revoked on the
primary: verification with ``CERTSVC_DATABASE_READ_URL`` must still say ``revoked``.

The server must accept replication connections from 127.0.0.1
(``scripts/pg-allow-replication``, which CI runs). Where it does not, or where the PostgreSQL
binaries are missing, the test is skipped with that reason — except in CI
(``CERTSVC_TEST_REPLICA=1``), where it fails.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from certsvc import create_app
from certsvc.issuance.service import content_hash, issue_batch, revoke
from certsvc.runtime import Runtime
from tests.conftest import BODY_CODE, row

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _unavailable(reason: str) -> None:
    if os.environ.get("CERTSVC_TEST_REPLICA") == "1":
        raise RuntimeError(f"the replica test must run here: {reason}")
    pytest.skip(reason)


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        _unavailable(f"no PostgreSQL binaries ({name}) in /usr/lib/postgresql/*/bin")
    return found[-1]


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run as the postgres OS user then."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


_AT_LEAST_PRIMARY = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def replica_port(pg_base_url: str) -> Iterator[int]:
    """A hot standby of the test server, streaming from it, on a free port."""
    primary = make_url(pg_base_url)
    workdir = Path(tempfile.mkdtemp(prefix="certsvc-replica-"))
    data = workdir / "data"
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres", "postgres")
    backup = subprocess.run(
        _as_postgres(
            [
                _bin("pg_basebackup"),
                "-h", primary.host or "127.0.0.1",
                "-p", str(primary.port or 5432),
                "-U", primary.username or "postgres",
                "-D", str(data),
                "-R",  # write standby.signal and primary_conninfo: start as a replica
                "-X", "stream",
                "-c", "fast",
            ]
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    if backup.returncode != 0:
        shutil.rmtree(workdir, ignore_errors=True)
        _unavailable(
            "pg_basebackup from the test server failed (does its pg_hba.conf allow "
            f"replication from 127.0.0.1? scripts/pg-allow-replication): {backup.stderr.strip()}"
        )
    # Debian keeps the configuration outside the data directory: give the copy its own.
    # A standby needs at least the primary's values of these.
    engine = create_engine(pg_base_url)
    with engine.connect() as connection:
        limits = {
            name: connection.execute(text(f"SHOW {name}")).scalar() for name in _AT_LEAST_PRIMARY
        }
    engine.dispose()
    port = _free_port()
    settings = {
        "port": str(port),
        "listen_addresses": "'127.0.0.1'",
        "unix_socket_directories": f"'{workdir}'",
        "hot_standby": "on",
        "shared_buffers": "32MB",
        "fsync": "off",
        **{name: str(value) for name, value in limits.items()},
    }
    files = {
        "postgresql.conf": "".join(f"{k} = {v}\n" for k, v in settings.items()),
        "pg_hba.conf": "local all all trust\nhost all all 127.0.0.1/32 trust\n",
        "pg_ident.conf": "",
    }
    for name, content in files.items():
        (data / name).write_text(content)
        if os.geteuid() == 0:
            shutil.chown(data / name, "postgres", "postgres")
    ctl = _bin("pg_ctl")
    log = workdir / "replica.log"
    started = subprocess.run(
        _as_postgres([ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"]),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    try:
        if started.returncode != 0:
            raise RuntimeError(f"the replica did not start: {log.read_text()[-2000:]}")
        yield port
    finally:
        subprocess.run(
            _as_postgres([ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(workdir, ignore_errors=True)


def _replica_url(primary_url: str, port: int) -> str:
    return make_url(primary_url).set(port=port).render_as_string(hide_password=False)


def _wait_until(condition: object, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_revocation_is_never_valid_on_a_lagging_replica(
    runtime: Runtime, body: str, replica_port: int
) -> None:
    rows = [(2, row(1)), (3, row(2)), (4, row(3))]
    batch = issue_batch(runtime, BODY_CODE, rows, source="api", content_sha256=content_hash(rows))
    first, second, third = batch.certificates
    read_url = _replica_url(runtime.settings.database_url, replica_port)
    replica = create_engine(read_url)

    def replica_status(number: str) -> str | None:
        with replica.connect() as connection:
            return connection.execute(
                text("SELECT status FROM certificates WHERE number = :n"), {"n": number}
            ).scalar()

    try:
        _wait_until(lambda: replica_status(third.number) == "valid", "the replica has the batch")
        runtime.settings = runtime.settings.with_overrides(database_read_url=read_url)
        app: Flask = create_app(runtime=runtime)
        client = app.test_client()

        def verify(token: str) -> str:
            answer = client.post("/api/v1/verify", json={"token": token})
            assert answer.status_code == 200
            return str(answer.get_json()["status"])

        assert runtime.read_db is not runtime.db
        assert verify(first.token) == "valid"

        # The replica falls behind: its replay stops, the primary goes on.
        with replica.connect() as connection:
            connection.execute(text("SELECT pg_wal_replay_pause()"))
        revoke(runtime, first.number, "考核记录有误，撤销")
        later_rows = [(2, row(4))]
        later = issue_batch(
            runtime, BODY_CODE, later_rows, source="api", content_sha256=content_hash(later_rows)
        ).certificates[0]
        time.sleep(0.5)
        assert replica_status(first.number) == "valid"  # the replica has not seen it …
        assert replica_status(later.number) is None

        assert verify(first.token) == "revoked"  # … and verification says revoked all the same
        assert verify(later.token) == "valid"  # a certificate the replica does not have yet
        assert verify(second.token) == "valid"
        found = client.post(
            "/api/v1/lookup/by-number", json={"number": first.number, "name": "张三"}
        ).get_json()
        assert found["status"] == "revoked"

        # Replay resumes: the replica catches up and answers alone again.
        with replica.connect() as connection:
            connection.execute(text("SELECT pg_wal_replay_resume()"))
        _wait_until(lambda: replica_status(first.number) == "revoked", "the replica caught up")
        assert verify(first.token) == "revoked"
    finally:
        with replica.connect() as connection:
            connection.execute(text("SELECT pg_wal_replay_resume()"))
        replica.dispose()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_look_ups_read_from_the_replica(runtime: Runtime, body: str, replica_port: int) -> None:
    rows = [(2, row(11))]
    cert = issue_batch(
        runtime, BODY_CODE, rows, source="api", content_sha256=content_hash(rows)
    ).certificates[0]
    read_url = _replica_url(runtime.settings.database_url, replica_port)
    runtime.settings = runtime.settings.with_overrides(database_read_url=read_url)
    replica = create_engine(read_url)
    try:
        _wait_until(
            lambda: (
                replica.connect()
                .execute(
                    text("SELECT count(*) FROM certificates WHERE number = :n"), {"n": cert.number}
                )
                .scalar()
                == 1
            ),
            "the replica has the certificate",
        )
        # A revoked certificate is answered by the replica alone (a status never returns to
        # valid); the connection the answer came from is the replica's.
        revoke(runtime, cert.number, "考核记录有误，撤销")
        _wait_until(
            lambda: (
                replica.connect()
                .execute(
                    text("SELECT status FROM certificates WHERE number = :n"), {"n": cert.number}
                )
                .scalar()
                == "revoked"
            ),
            "the replica has the revocation",
        )
        marker = f"certsvc-replica-{cert.number}"
        with replica.connect() as connection:
            before = connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a"),
                {"a": marker},
            ).scalar()
        assert before == 0
        runtime.settings = runtime.settings.with_overrides(
            database_read_url=f"{read_url}&application_name={marker}"
        )
        app = create_app(runtime=runtime)
        answer = app.test_client().post("/api/v1/verify", json={"token": cert.token})
        assert answer.get_json()["status"] == "revoked"
        with replica.connect() as connection:  # the read's pooled connection is the replica's
            after = connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a"),
                {"a": marker},
            ).scalar()
        assert after == 1
    finally:
        replica.dispose()
