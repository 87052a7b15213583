"""Registry feed figures: records/s served with 100k certificates on PostgreSQL, server peak
memory against page size, and the reference client's end-to-end rate.

``section()`` returns the markdown for bench/results.md; ``python -m bench.registry`` prints it.

Set-up (not timed): 100,000 certificates issued through the real ``issue_batch`` in batches of
1,000 (about a minute), a registry token, and the service in its own process
(``certsvc serve``: werkzeug, threaded) on 127.0.0.1.

* **served**: one reader pulls the whole feed page by page and only receives the bytes (it
  does not parse or verify), so the figure is what the server can stream: every event read
  from PostgreSQL, the holder's ID number decrypted, JSON written. Median of 3 passes.
* **peak RSS**: VmHWM of the server process after a full pass, for a fresh server per page
  size; flat memory means it does not grow with ``limit``.
* **client end-to-end**: ``certsvc registry pull`` (in this process) into a fresh SQLite
  mirror: fetch, verify every signature and ID commitment, apply — records/s.

For working on the feed, ``CERTSVC_BENCH_REGISTRY_KEEP=<dir>`` keeps the populated schema (its
settings and token in ``<dir>``) and later runs reuse it, so a run takes seconds instead of
minutes; drop the schema by hand when done. Figures for bench/results.md come from a run
without it (a fresh schema, dropped at the end).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from bench.run import PG_URL, postgres_schema
from certsvc.accounts.tokens import create_token
from certsvc.bodies.bodies import NewBody, add_scope, create_body, load_occupations
from certsvc.cli.demo import resident_id, uscc
from certsvc.config import Settings, generate_secrets
from certsvc.domain.levels import CERTIFIED_LEVELS
from certsvc.domain.occupations import shipped_catalogue
from certsvc.issuance.service import content_hash, issue_batch
from certsvc.models import Certificate
from certsvc.models.migrate import upgrade
from certsvc.registry.feed import MAX_LIMIT
from certsvc.registry.mirror import Mirror
from certsvc.registry.pull import pull
from certsvc.registry.transport import FeedClient
from certsvc.runtime import Runtime

CERTIFICATES = int(os.environ.get("CERTSVC_BENCH_REGISTRY_CERTIFICATES", "100000"))
#: A directory to keep the populated schema in between runs (see :func:`_kept`).
KEEP = os.environ.get("CERTSVC_BENCH_REGISTRY_KEEP")
BATCH = 1_000
BODY = "Y000132010001"
BODY_USCC = uscc("91320100MA1X7K3P8")
PAGE_SIZES = (1_000, MAX_LIMIT)


def _rows(start: int) -> list[tuple[int, dict[str, str]]]:
    rows = []
    for i in range(BATCH):
        n = start + i
        first17 = f"3201{(n // 400_000) % 10}{(n // 40_000) % 10}{1960 + (n // 1000) % 40}0101"
        rows.append(
            (
                i + 2,
                {
                    "name": "王建国",
                    "id_type": "居民身份证",
                    "id_number": resident_id(first17 + f"{n % 1000:03d}"),
                    "employer_uscc": BODY_USCC,
                    "occupation_code": "6-31-01-03",
                    "level": "四级",
                    "issue_date": "2026-11-20",
                },
            )
        )
    return rows


def _populate(runtime: Runtime) -> float:
    upgrade(runtime.db.engine)
    with runtime.db.transaction() as session:
        load_occupations(session, shipped_catalogue())
        body = create_body(session, NewBody(BODY, "基准测试集团", BODY_USCC, chain_leader=True))
        runtime.keyring.create_key(session, body)
        add_scope(session, body, ["6-31-01-03"], CERTIFIED_LEVELS)
    started = time.perf_counter()
    for start in range(0, CERTIFICATES, BATCH):
        rows = _rows(start)
        issue_batch(runtime, BODY, rows, source="api", content_sha256=content_hash(rows))
    return time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server:
    def __init__(self, env: dict[str, str]) -> None:
        self.port = _free_port()
        code = "from certsvc.cli.main import main; main()"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, "serve", "--port", str(self.port)],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("the bench server did not start") from None
                time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def memory_kib(self, field: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


def _serve_pass(port: int, token: str, limit: int, pages: int = 10**9) -> tuple[int, float]:
    """Receive every page (bytes only); returns (events, seconds)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}"}
    after, events, seconds = 0, 0, 0.0
    while True:
        started = time.perf_counter()
        connection.request(
            "GET", f"/api/v1/registry/changes?after={after}&limit={limit}", headers=headers
        )
        body = connection.getresponse().read()
        seconds += time.perf_counter() - started
        tail = json.loads("{" + body[body.rindex(b'"count"') :].decode())
        if tail["count"] == 0:
            break
        events += tail["count"]
        after = tail["next"]
        pages -= 1
        if not pages:
            break
    connection.close()
    return events, seconds


def _env(settings: Settings) -> dict[str, str]:
    import base64

    return {
        "CERTSVC_DATABASE_URL": settings.database_url,
        "CERTSVC_KEY_DIR": str(settings.key_dir),
        "CERTSVC_PUBLIC_URL": settings.public_url,
        "CERTSVC_SECRET_KEY": settings.secret_key,
        "CERTSVC_ID_HASH_KEY": base64.b64encode(settings.id_hash_key).decode(),
        "CERTSVC_ID_ENCRYPTION_KEY": base64.b64encode(settings.id_encryption_key).decode(),
        "CERTSVC_KEY_PASSPHRASE": settings.key_passphrase.decode(),
        "CERTSVC_LOG_LEVEL": "WARNING",
    }


def _fresh(workdir: Path) -> tuple[Settings, str, float, Callable[[], None]] | None:
    """A new schema with the certificates issued: (settings, token, issuing s, drop)."""
    pg = postgres_schema("certsvc_bench_reg")
    if pg is None:
        return None
    url, drop = pg
    env = {
        **generate_secrets(),
        "CERTSVC_DATABASE_URL": url,
        "CERTSVC_KEY_DIR": str(workdir / "keys"),
    }
    settings = Settings.from_env(env)
    runtime = Runtime.from_settings(settings)
    try:
        issuing = _populate(runtime)
        with runtime.db.transaction() as session:
            token = create_token(session, "registry", "bench").secret
    except BaseException:
        runtime.db.dispose()
        drop()
        raise
    runtime.db.dispose()
    return settings, token, issuing, drop


def _kept() -> tuple[Settings, str, float, Callable[[], None]] | None:
    """The schema a run with ``CERTSVC_BENCH_REGISTRY_KEEP=<dir>`` kept, or a new one it keeps.

    For working on the feed: issuing 100k certificates takes minutes, the figures seconds.
    A kept schema is used only if it holds the same number of certificates.
    """
    assert KEEP is not None
    saved = Path(KEEP) / "bench-registry.json"
    if saved.exists():
        state = json.loads(saved.read_text())
        settings = Settings.from_env(state["env"])
        runtime = Runtime.from_settings(settings)
        try:
            with runtime.db.session() as session:
                count = session.scalar(select(func.count()).select_from(Certificate))
        except SQLAlchemyError:
            count = None
        finally:
            runtime.db.dispose()
        if count == CERTIFICATES == state["certificates"]:
            return settings, state["token"], state["issuing"], lambda: None
    Path(KEEP).mkdir(parents=True, exist_ok=True)
    fresh = _fresh(Path(KEEP))
    if fresh is None:
        return None
    settings, token, issuing, _ = fresh  # kept: not dropped
    state = {"env": _env(settings), "token": token, "issuing": issuing}
    saved.write_text(json.dumps({**state, "certificates": CERTIFICATES}))
    return settings, token, issuing, lambda: None


def section() -> list[str]:
    """The registry figures as markdown lines."""
    load_before = os.getloadavg()[0]
    workdir = Path(tempfile.mkdtemp(prefix="certsvc-bench-registry-"))
    prepared = _kept() if KEEP else _fresh(workdir)
    if prepared is None:
        return ["## Registry feed", "", f"PostgreSQL was not reachable at {PG_URL}; skipped.", ""]
    settings, token, issuing, drop = prepared
    print(f"issued {CERTIFICATES:,} in {issuing:.0f} s", file=sys.stderr)
    try:
        rows = []
        for limit in PAGE_SIZES:
            server = _Server(_env(settings))
            try:
                _serve_pass(
                    server.port, token, 10, pages=1
                )  # warm-up: imports, pools, first queries
                baseline = server.memory_kib("VmRSS")
                rates = []
                for _ in range(3):
                    events, seconds = _serve_pass(server.port, token, limit)
                    rates.append(events / seconds)
                peak = server.memory_kib("VmHWM")
            finally:
                server.stop()
            rate = statistics.median(rates)
            print(
                f"limit {limit}: {rate:,.0f} records/s, peak {peak / 1024:.0f} MiB", file=sys.stderr
            )
            rows.append((limit, events, rate, rates, baseline, peak))
        server = _Server(_env(settings))
        try:
            mirror = Mirror(str(workdir / "mirror.db"))
            summary = pull(FeedClient(server.url, token), mirror, limit=1_000)
            mirror.dispose()
        finally:
            server.stop()
        print(f"client: {summary.rate:,.0f} records/s", file=sys.stderr)
    finally:
        drop()
    lines = [
        "## Registry feed",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, load "
        f"average {load_before:.1f} before and {os.getloadavg()[0]:.1f} after (other work on "
        "the machine slows every figure; compare with the issuance rate above). "
        f"{CERTIFICATES:,} certificates issued on PostgreSQL through `issue_batch` in batches of "
        f"{BATCH:,} ({CERTIFICATES / issuing:,.0f}/s, not part of the figures). The service runs "
        "in its own process (`certsvc serve`, werkzeug); the reader receives whole pages "
        "without parsing them. Every issued event carries its vc+jwt and the holder's ID number, "
        "decrypted on the fly.",
        "",
        "| page size (`limit`) | records/s served (median of 3 passes; passes) | server RSS "
        "after warm-up | server peak RSS (VmHWM) |",
        "|---|---|---|---|",
    ]
    for limit, events, rate, rates, baseline, peak in rows:
        spread = ", ".join(f"{r:,.0f}" for r in rates)
        lines.append(
            f"| {limit:,} | **{rate:,.0f}** ({spread}; {events:,} events a pass) | "
            f"{baseline / 1024:.0f} MiB | {peak / 1024:.0f} MiB |"
        )
    lines += [
        "",
        f"Client end-to-end (`certsvc registry pull`, limit 1,000, fresh SQLite mirror: fetch, "
        f"verify every Ed25519 signature and ID commitment, apply): **{summary.rate:,.0f} "
        f"records/s** ({summary.events:,} events in {summary.seconds:.1f} s, "
        f"{len(summary.rejections)} rejected).",
        "",
        "Goal (issue #7): ≥ 20,000 records/s served with flat memory.",
        "",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(section()))
